// Package zipkin receives spans over Zipkin's HTTP collector API and hands
// them, translated to OTLP, to the ingest pipeline:
//
//	POST /api/v2/spans  application/json (also no Content-Type, text/plain and
//	                    application/x-www-form-urlencoded)   zipkin_v2_json
//	                    application/x-protobuf (ListOfSpans)  zipkin_v2_proto
//	POST /api/v1/spans  application/json (same aliases)       zipkin_v1_json
//	                    application/x-thrift (TBinaryProtocol list<Span>)
//	                                                          zipkin_v1_thrift
//
// Content-Encoding gzip and zstd are read. Success is 202 with no body,
// and an empty body or empty list is a success, as in Zipkin's collector.
// Errors are plain text: 400 malformed body (naming the expected format
// and the translator's complaint) or bad tenant, 405 other methods (by
// the mux: the routes are POST patterns, so the Zipkin query API can own
// GET on the same paths), 413 too large, 415 other content types or
// encodings, 429 and 503 with Retry-After when the pipeline is overloaded
// or storage is down. Zipkin has no partial success: if the pipeline
// rejected some spans, the rest are stored and the answer is 400 saying
// how many were stored and which span was rejected.
//
// Decoding v2 JSON is half ours (v2json.go): goccy/go-json reads the
// body into a plain struct mirroring zipkin2-api.yaml's span, and we check
// its values and convert them to zipkin-go's model with zipkin-go's own
// parsing (TraceIDFromHex, its hex span IDs) and net.ParseIP; the
// translator then converts the model as it always did. We stopped using
// json.Unmarshal into zipkin-go's model, as the translator's own
// unmarshaler does, because it was most of the server's CPU under load
// (57% in a profile of 1024 exporters sending 100 telemetrygen spans a
// request): zipkin-go's UnmarshalJSON methods call json.Unmarshal again
// per span and per annotation, and reflection did the rest. On such a
// request (BenchmarkDecodeV2JSON) that took 6,900 ns a span; go-json
// and the checks take 950, and the whole request through the handler
// (BenchmarkV2JSONHandler) 2,800 instead of 8,300. A hand-written
// decoder did 740 and 2,700, in 1,289 lines of JSON parsing to maintain;
// JSON is not our core.
//
// Valid Zipkin v2 JSON is decoded exactly as before: a differential test
// and fuzz test hold the new path to the old one (kept in tests). As
// before, keys match case-insensitively, numbers are unsigned integers,
// tag values are strings or null, and invalid UTF-8 and lone surrogates
// become U+FFFD. Outside the spec, on purpose (TestV2JSONDifferences
// pins an example of each):
//   - IDs are JSON strings of hex digits: traceId 16 or 32 of them, id
//     and parentId 1 to 16, escapes decoded; traceId and id are
//     required, "" or null parentId is none. zipkin-go parsed the raw
//     text of any JSON value, of any length up to 32 digits (12 was ID
//     0x2, "" left the ID unset, a missing traceId was zero).
//   - kind is CLIENT, SERVER, PRODUCER, CONSUMER or none; any other
//     string was passed on, and the translator took it for none.
//   - Times ending after 2262-04-11, past int64 nanoseconds, are refused;
//     they used to wrap around, so a client sending ns instead of µs had
//     its spans stored at arbitrary times.
//   - A null in the list of spans is refused (it was skipped). A null
//     annotation is one without a timestamp, a 400; zipkin-go
//     dereferenced nil and the request lost its connection.
//   - An annotation's "Timestamp" is a case variant of "timestamp";
//     zipkin-go read it as its time.Time field, failing the request
//     unless it was an RFC 3339 string or null.
//   - A repeated key merges as encoding/json merges into a plain struct,
//     not into zipkin-go's model: a later null no longer clears an
//     address or parentId, and a repeated annotations list after an
//     empty one reuses the first one's elements (go-json's own merge).
//
// Translation is the collector-contrib translator's (zipkinv2, zipkinv1).
// The receiver only repairs what that translator loses or refuses, each
// noted where it is done: debug and shared (dropped; kept here as
// attributes), annotations containing '|' (cut or refused; kept
// verbatim), 8-byte protobuf trace IDs (refused; widened), v1 JSON binary
// annotation values that are not strings (refused; stringified), and
// oversized Thrift list headers (an allocation bomb; refused).
//
// What the pipeline receives, as observed with collector-contrib v0.158.0
// and its default feature gates (tests pin each row down):
//
//	Zipkin v2                      OTLP
//	traceId (64 or 128 bit)        trace_id; 64-bit IDs get zero high bytes
//	id, parentId                   span_id, parent_span_id
//	name                           name, as sent (zipkin-go's JSON encoder,
//	                               also used by OpenTelemetry's Zipkin
//	                               exporter, lowercases names client-side)
//	kind CLIENT|SERVER|            kind client|server|producer|consumer;
//	     PRODUCER|CONSUMER         none → unspecified
//	timestamp, duration (µs)       start, end = timestamp + duration (ns);
//	                               no timestamp → start at the Unix epoch and
//	                               otel.zipkin.absentField.startTime=true
//	localEndpoint.serviceName      resource service.name (spans are grouped
//	                               into one resource per service)
//	localEndpoint.ipv4 / ipv6      network.local.address (ipv6 wins if both)
//	localEndpoint.port             net.host.port (int; 0 is omitted)
//	remoteEndpoint.serviceName     service.peer.name
//	remoteEndpoint.ipv4 / ipv6     network.peer.address (ipv6 wins if both)
//	remoteEndpoint.port            net.peer.port (int)
//	annotations                    events (name = value, time µs → ns);
//	                               "name|{json}|n" → event with attributes
//	tags                           string attributes, except: resource
//	                               conventions (service.*, host.*, k8s.*,
//	                               deployment.environment, …) → resource, taken
//	                               from the first span of each service;
//	                               otel.scope.* / otel.library.* → scope;
//	                               otel.status_code/description → status;
//	                               error → status ERROR (the tag stays unless
//	                               "true"); w3c.tracestate → trace_state;
//	                               otlp.link.N → links
//	shared: true                   the server half stays a span of its own,
//	                               same trace and span ID as the client half,
//	                               with AttrShared (zipkin.shared=true)
//	debug: true                    AttrDebug (zipkin.debug=true)
//
//	Zipkin v1 (JSON and Thrift)    OTLP
//	traceId, id, parentId          as v2 (JSON needs exactly 16/32 and 16
//	                               hex digits)
//	cs/cr, sr/ss, ms/mr            kind from the first of them; start and end
//	                               from the earliest and latest annotation
//	                               unless timestamp/duration are set; not events
//	other annotations              events
//	endpoint of that first         resource service.name, and ipv4, ipv6 and
//	  cs/sr/… annotation           port (a string) as resource attributes
//	binaryAnnotations              attributes: JSON as strings, Thrift typed;
//	                               lc → component; sa/ca/ma → attribute
//	                               "true" (their endpoint is dropped);
//	                               error → status ERROR (its text dropped)
//	no timestamps at all           start = end = time of receipt, and
//	                               otel.zipkin.absentField.startTime=true
//	debug: true                    AttrDebug
//	one span ID reported by        one span per report (client and server),
//	  client and server            each with its own kind and service
//
// It must never answer 202 before the pipeline says the spans are stored,
// nor when any span of the request was rejected; never answer a retryable
// failure (overload, storage down) with a status clients treat as final;
// never hand-convert Zipkin spans to OTLP itself (it decodes v2 JSON into
// zipkin-go's model; the mapping is the translator's); and never serve
// the Zipkin query API.
package zipkin
