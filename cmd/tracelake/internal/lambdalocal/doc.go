// Package lambdalocal runs Lambda function packages on this machine the way
// AWS Lambda runs them, for tests, benchmarks and `make lambda-local`: each
// sandbox is the real bootstrap binary started as a child process with
// AWS_LAMBDA_RUNTIME_API pointing at an emulation of AWS's documented
// Runtime API (GET …/invocation/next, POST …/{id}/response, …/{id}/error,
// …/init/error); a Function URL front end turns HTTP requests into payload
// 2.0 events and the function's answers back into HTTP; a scheduler sends
// EventBridge "Scheduled Event"s.
//
// It exists because neither the AWS Runtime Interface Emulator nor
// LocalStack can run here (see PEERS.md). It emulates what tracelake's
// functions depend on — invocation framing, deadlines, payload limits,
// timeouts, crashes, init errors, cold starts, a private /tmp per sandbox —
// and not what they do not: IAM (a URL's AWS_IAM auth is not checked),
// extensions, response streaming, reserved concurrency.
//
// It must never be part of the tracelake binary: it is a harness.
package lambdalocal
