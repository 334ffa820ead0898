package jaeger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/jaegertracing/jaeger-idl/thrift-gen/agent"
	tjaeger "github.com/jaegertracing/jaeger-idl/thrift-gen/jaeger"

	"github.com/tracelake/tracelake/functions/pipeline"
	"github.com/tracelake/tracelake/functions/receiver"
)

// Protocol names, used as the "protocol" label of ingest metrics.
const (
	ProtocolGRPC          = "jaeger_grpc"
	ProtocolThriftHTTP    = "jaeger_thrift_http"
	ProtocolThriftCompact = "jaeger_thrift_compact"
	ProtocolThriftBinary  = "jaeger_thrift_binary"
)

// Config is what the gRPC and HTTP receivers need.
type Config struct {
	// MaxRequestBytes bounds a request body, both as received and after
	// decompression (gRPC: the decompressed message).
	MaxRequestBytes int
	// TenantHeader names the header (gRPC: metadata key) carrying the
	// tenant ID; DefaultTenant is used when it is absent.
	TenantHeader  string
	DefaultTenant string
}

// Encoding is the Thrift protocol of agent datagrams.
type Encoding int

const (
	// Compact is Thrift's compact protocol, the agent's port 6831.
	Compact Encoding = iota
	// Binary is Thrift's binary protocol, the agent's port 6832.
	Binary
)

func (e Encoding) String() string {
	switch e {
	case Compact:
		return "compact"
	case Binary:
		return "binary"
	}
	return fmt.Sprintf("Encoding(%d)", int(e))
}

// protocol is e's metrics label.
func (e Encoding) protocol() string {
	if e == Binary {
		return ProtocolThriftBinary
	}
	return ProtocolThriftCompact
}

// thriftConfig bounds a decoder of n bytes of input. Thrift checks every
// declared string, binary and container length against MaxMessageSize
// before allocating; its default (100 MiB) would let a few bytes that
// declare a list of 100 million structs allocate 800 MB of pointers, so
// the limit is the input's own length: no honest length can exceed it.
func thriftConfig(n int) *thrift.TConfiguration {
	limit := int32(max(1, min(n, math.MaxInt32)))
	return &thrift.TConfiguration{MaxMessageSize: limit, MaxFrameSize: limit}
}

func newProtocol(enc Encoding, data []byte) thrift.TProtocol {
	trans := &thrift.TMemoryBuffer{Buffer: bytes.NewBuffer(data)}
	cfg := thriftConfig(len(data))
	if enc == Binary {
		return thrift.NewTBinaryProtocolConf(trans, cfg)
	}
	return thrift.NewTCompactProtocolConf(trans, cfg)
}

// decodeBatch decodes a binary-protocol jaeger.Batch, the body of Thrift
// over HTTP (what jaeger-collector's TDeserializer reads).
func decodeBatch(ctx context.Context, body []byte) (*tjaeger.Batch, error) {
	batch := &tjaeger.Batch{}
	if err := batch.Read(ctx, newProtocol(Binary, body)); err != nil {
		return nil, err
	}
	return batch, nil
}

// errUnsupported is a well-formed datagram we do not take: the agent's
// emitZipkinBatch.
var errUnsupported = errors.New("unsupported")

const (
	methodEmitBatch       = "emitBatch"
	methodEmitZipkinBatch = "emitZipkinBatch"
)

// decodeEmitBatch decodes one agent datagram: a Thrift message calling
// Agent.emitBatch (jaeger-idl agent.thrift), whose only argument is a
// jaeger.Batch. Clients send it as ONEWAY or, like Go's generated
// clients, as CALL; the agent never answers either.
func decodeEmitBatch(ctx context.Context, enc Encoding, data []byte) (*tjaeger.Batch, error) {
	p := newProtocol(enc, data)
	name, typ, _, err := p.ReadMessageBegin(ctx)
	if err != nil {
		return nil, fmt.Errorf("not a %s Thrift message: %w", enc, err)
	}
	switch {
	case name == methodEmitZipkinBatch:
		return nil, fmt.Errorf("%w: Agent.emitZipkinBatch (Zipkin Thrift spans); send Jaeger Thrift with emitBatch", errUnsupported)
	case name != methodEmitBatch:
		return nil, fmt.Errorf("the Thrift message calls %.64q, not Agent.emitBatch", name)
	case typ != thrift.ONEWAY && typ != thrift.CALL:
		return nil, fmt.Errorf("the Thrift message type is %d, not CALL or ONEWAY", typ)
	}
	var args agent.AgentEmitBatchArgs
	if err := args.Read(ctx, p); err != nil {
		return nil, fmt.Errorf("emitBatch arguments: %w", err)
	}
	if err := p.ReadMessageEnd(ctx); err != nil {
		return nil, fmt.Errorf("emitBatch message end: %w", err)
	}
	if args.Batch == nil {
		return nil, errors.New("emitBatch call without a batch")
	}
	return args.Batch, nil
}

// rejected is the answer to a request some of whose spans the pipeline
// rejected. Jaeger's protocols have no partial success, so the request
// fails with a permanent error (clients must not resend spans already
// stored) that names the rejected span and says what was kept.
func rejected(res pipeline.Result) *receiver.Error {
	msg := res.RejectMessage
	if msg == "" {
		msg = fmt.Sprintf("%d spans rejected", res.Rejected)
	}
	if res.SampledOut > 0 {
		return receiver.BadRequest("%s; the other %d spans were accepted (%d stored, %d sampled out), do not resend them",
			msg, res.Accepted+res.SampledOut, res.Accepted, res.SampledOut)
	}
	return receiver.BadRequest("%s; the other %d spans were stored, do not resend them", msg, res.Accepted)
}
