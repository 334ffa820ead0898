package otlp

import (
	"io"
	"sync"

	"github.com/klauspost/compress/zstd"
	"google.golang.org/grpc/encoding"
)

// zstdCompressor lets gRPC clients send zstd-compressed messages, as the
// OpenTelemetry Collector's exporters can. gRPC bounds the decompressed
// size with the server's maximum message size, so a bomb is refused with
// RESOURCE_EXHAUSTED before it fills memory.
type zstdCompressor struct {
	encoders, decoders sync.Pool
}

func init() {
	encoding.RegisterCompressor(&zstdCompressor{})
}

func (*zstdCompressor) Name() string { return "zstd" }

func (c *zstdCompressor) Compress(w io.Writer) (io.WriteCloser, error) {
	if e, ok := c.encoders.Get().(*zstd.Encoder); ok {
		e.Reset(w)
		return &pooledEncoder{Encoder: e, pool: &c.encoders}, nil
	}
	e, err := zstd.NewWriter(w, zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	return &pooledEncoder{Encoder: e, pool: &c.encoders}, nil
}

type pooledEncoder struct {
	*zstd.Encoder
	pool *sync.Pool
}

func (e *pooledEncoder) Close() error {
	err := e.Encoder.Close()
	e.pool.Put(e.Encoder)
	return err
}

func (c *zstdCompressor) Decompress(r io.Reader) (io.Reader, error) {
	d, ok := c.decoders.Get().(*zstd.Decoder)
	if !ok {
		var err error
		// The window bound keeps a hostile frame header from reserving a
		// huge buffer; gRPC itself bounds the decompressed message size.
		d, err = zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(32<<20))
		if err != nil {
			return nil, err
		}
	} else if err := d.Reset(r); err != nil {
		c.decoders.Put(d)
		return nil, err
	}
	return &pooledDecoder{Decoder: d, pool: &c.decoders}, nil
}

// pooledDecoder returns its decoder to the pool at end of stream.
type pooledDecoder struct {
	*zstd.Decoder
	pool *sync.Pool
	done bool
}

func (d *pooledDecoder) Read(p []byte) (int, error) {
	if d.done {
		return 0, io.EOF
	}
	n, err := d.Decoder.Read(p)
	if err == io.EOF {
		d.done = true
		_ = d.Decoder.Reset(nil)
		d.pool.Put(d.Decoder)
	}
	return n, err
}
