// Command fn is a Lambda function for lambdalocal's tests, run through
// aws-lambda-go's real runtime loop. FN_MODE picks what it does:
//
//	echo      answer a Function URL response describing the event
//	sleep     sleep for the event's "sleep" milliseconds, then answer
//	fail      return an error
//	panic     panic
//	exit      exit the process in the middle of an invocation
//	huge      answer more than Lambda's 6 MB
//	initfail  report an init error and exit, as tracelake does
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

func main() {
	mode := os.Getenv("FN_MODE")
	if mode == "initfail" {
		body := `{"errorMessage":"storage.url: not set","errorType":"Runtime.InitError"}`
		resp, err := http.Post("http://"+os.Getenv("AWS_LAMBDA_RUNTIME_API")+"/2018-06-01/runtime/init/error", "application/json", bytes.NewReader([]byte(body)))
		if err == nil {
			resp.Body.Close()
		}
		os.Exit(1)
	}
	lambda.Start(func(ctx context.Context, raw json.RawMessage) (any, error) {
		lc, _ := lambdacontext.FromContext(ctx)
		deadline, _ := ctx.Deadline()
		switch mode {
		case "fail":
			return nil, errors.New("it went wrong")
		case "panic":
			panic("oops")
		case "exit":
			os.Exit(3)
		case "huge":
			return strings.Repeat("x", 7<<20), nil
		case "sleep":
			var ev struct{ Sleep int }
			_ = json.Unmarshal(raw, &ev)
			time.Sleep(time.Duration(ev.Sleep) * time.Millisecond)
			return map[string]any{"slept": ev.Sleep}, nil
		}
		var ev events.LambdaFunctionURLRequest
		_ = json.Unmarshal(raw, &ev)
		out, _ := json.Marshal(map[string]any{
			"event":       ev,
			"requestId":   lc.AwsRequestID,
			"arn":         lc.InvokedFunctionArn,
			"deadlineIn":  time.Until(deadline).Milliseconds(),
			"memory":      os.Getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"),
			"handler":     os.Getenv("_HANDLER"),
			"tmp":         os.TempDir(),
			"traceHeader": os.Getenv("_X_AMZN_TRACE_ID"),
		})
		return events.LambdaFunctionURLResponse{
			StatusCode: 201,
			Headers:    map[string]string{"Content-Type": "application/json", "X-Fn": "yes"},
			Cookies:    []string{"a=1"},
			Body:       string(out),
		}, nil
	})
}
