// Package lambdaurl runs an http.Handler as an AWS Lambda function behind a
// Function URL or an API Gateway HTTP API (payload format 2.0): it turns
// each invocation's event into an *http.Request, serves it, and turns the
// answer back into the event's response. The ingest receivers and the
// query API run on Lambda through it unchanged; there is no second
// implementation of any protocol here.
//
// It must never interpret what it carries: status codes, error bodies and
// content negotiation are the wrapped handler's. It only adapts framing
// (base64 bodies, cookies, multi-value headers), enforces Lambda's response
// size limit with a clear error, and optionally checks a bearer token.
package lambdaurl
