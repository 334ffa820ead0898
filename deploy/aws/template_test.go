package aws

// Checks of template.yaml that need no AWS account: it parses, every
// reference resolves, and it has the resources and policies the Lambda
// deployment depends on — least-privilege roles scoped to the bucket,
// Function URLs with authentication, the schedule, the lifecycle tiers.

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// load reads the template into plain values, turning the short forms of
// intrinsic functions (!Ref x, !GetAtt a.b, !Sub s, !If [...]) into the
// long ones ({"Ref": x}, {"Fn::GetAtt": [a, b]}, …), as CloudFormation does.
func load(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile("template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	v, err := convert(doc.Content[0])
	if err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	return v.(map[string]any)
}

func convert(n *yaml.Node) (any, error) {
	custom := strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!")
	var v any
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			val, err := convert(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = val
		}
		v = m
	case yaml.SequenceNode:
		s := []any{}
		for _, c := range n.Content {
			val, err := convert(c)
			if err != nil {
				return nil, err
			}
			s = append(s, val)
		}
		v = s
	case yaml.ScalarNode:
		if custom {
			v = n.Value
		} else if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %v", n.Line, err)
		}
	case yaml.AliasNode:
		return convert(n.Alias)
	default:
		return nil, fmt.Errorf("line %d: unexpected YAML node", n.Line)
	}
	if !custom {
		return v, nil
	}
	name := strings.TrimPrefix(n.Tag, "!")
	switch name {
	case "Ref", "Condition":
		return map[string]any{name: v}, nil
	case "GetAtt":
		if s, ok := v.(string); ok {
			res, attr, _ := strings.Cut(s, ".")
			v = []any{res, attr}
		}
		return map[string]any{"Fn::GetAtt": v}, nil
	case "Sub", "If", "Equals", "Not", "Or", "And", "Join", "Select", "Split", "FindInMap", "Base64", "GetAZs", "ImportValue", "Cidr":
		return map[string]any{"Fn::" + name: v}, nil
	}
	return nil, fmt.Errorf("line %d: unknown tag %s", n.Line, n.Tag)
}

func get(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func resourcesOfType(tpl map[string]any, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for name, r := range tpl["Resources"].(map[string]any) {
		if get(r, "Type") == typ {
			out[name] = r.(map[string]any)
		}
	}
	return out
}

func ref(name string) map[string]any { return map[string]any{"Ref": name} }

func getAtt(res, attr string) map[string]any {
	return map[string]any{"Fn::GetAtt": []any{res, attr}}
}

func equal(a, b any) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

// TestReferencesResolve: every Ref, GetAtt, ${…} in Sub, and Condition names
// something the template defines (or a pseudo parameter).
func TestReferencesResolve(t *testing.T) {
	tpl := load(t)
	known := map[string]bool{}
	for _, section := range []string{"Parameters", "Resources"} {
		for name := range tpl[section].(map[string]any) {
			known[name] = true
		}
	}
	conditions := tpl["Conditions"].(map[string]any)
	var walk func(where string, v any)
	check := func(where, name string) {
		if !known[name] && !strings.HasPrefix(name, "AWS::") {
			t.Errorf("%s refers to %q, which the template does not define", where, name)
		}
	}
	walk = func(where string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				switch k {
				case "Ref":
					check(where, x.(string))
				case "Fn::GetAtt":
					check(where, x.([]any)[0].(string))
				case "Fn::Sub":
					s, _ := x.(string)
					for _, part := range strings.Split(s, "${")[1:] {
						name, _, _ := strings.Cut(part, "}")
						name, _, _ = strings.Cut(name, ".")
						check(where, name)
					}
				case "Condition", "Fn::If":
					name, ok := x.(string)
					if k == "Fn::If" {
						name, ok = x.([]any)[0].(string)
					}
					if _, defined := conditions[name]; ok && !defined {
						t.Errorf("%s uses condition %q, which is not defined", where, name)
					}
				}
				walk(where+"."+k, x)
			}
		case []any:
			for _, x := range v {
				walk(where, x)
			}
		}
	}
	for _, section := range []string{"Resources", "Outputs", "Conditions", "Rules"} {
		walk(section, tpl[section])
	}
}

func TestBucketTiers(t *testing.T) {
	tpl := load(t)
	buckets := resourcesOfType(tpl, "AWS::S3::Bucket")
	bucket, ok := buckets["TracesBucket"]
	if len(buckets) != 1 || !ok {
		t.Fatalf("want one bucket, TracesBucket; have %v", buckets)
	}
	if bucket["DeletionPolicy"] != "Retain" {
		t.Error("deleting the stack must keep the traces")
	}
	block := get(bucket, "Properties", "PublicAccessBlockConfiguration").(map[string]any)
	for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
		if block[k] != true {
			t.Errorf("public access: %s is not true", k)
		}
	}
	rules := get(bucket, "Properties", "LifecycleConfiguration", "Rules").([]any)
	var transitions []string
	var expires, aborts bool
	for _, r := range rules {
		if get(r, "Status") != "Enabled" {
			t.Errorf("rule %v is not enabled", get(r, "Id"))
		}
		trs, _ := get(r, "Transitions").([]any)
		for _, tr := range trs {
			transitions = append(transitions, fmt.Sprint(get(tr, "StorageClass"), " ", get(tr, "TransitionInDays")))
		}
		if equal(get(r, "ExpirationInDays"), ref("RetentionDays")) {
			expires = true
		}
		if get(r, "AbortIncompleteMultipartUpload", "DaysAfterInitiation") != nil {
			aborts = true
		}
	}
	want := []string{"STANDARD_IA map[Ref:WarmAfterDays]", "GLACIER_IR map[Ref:ColdAfterDays]"}
	if !slices.Equal(transitions, want) || !expires || !aborts {
		t.Errorf("lifecycle: transitions %v (want %v), expiration by RetentionDays %t, aborts incomplete uploads %t", transitions, want, expires, aborts)
	}
	params := tpl["Parameters"].(map[string]any)
	for name, min := range map[string]int{"WarmAfterDays": 30, "ColdAfterDays": 31, "RetentionDays": 1} {
		if get(params, name, "MinValue") != min {
			t.Errorf("parameter %s: MinValue %v, want %d", name, get(params, name, "MinValue"), min)
		}
	}
}

// roleActions lists a role's statements as "action resource" strings.
func roleActions(t *testing.T, role map[string]any) []string {
	t.Helper()
	var out []string
	for _, p := range get(role, "Properties", "Policies").([]any) {
		for _, s := range get(p, "PolicyDocument", "Statement").([]any) {
			if get(s, "Effect") != "Allow" {
				t.Errorf("unexpected statement %v", s)
			}
			actions, ok := get(s, "Action").([]any)
			if !ok {
				actions = []any{get(s, "Action")}
			}
			for _, a := range actions {
				out = append(out, fmt.Sprint(a, " ", get(s, "Resource")))
			}
		}
	}
	sort.Strings(out)
	return out
}

func TestFunctionsAndLeastPrivilege(t *testing.T) {
	tpl := load(t)
	params := tpl["Parameters"].(map[string]any)
	if !equal(get(params, "Architecture", "AllowedValues"), []any{"arm64", "x86_64"}) {
		t.Errorf("Architecture allows %v", get(params, "Architecture", "AllowedValues"))
	}
	functions := resourcesOfType(tpl, "AWS::Lambda::Function")
	roles := resourcesOfType(tpl, "AWS::IAM::Role")
	objects := "map[Fn::Sub:${TracesBucket.Arn}/*]"
	bucket := "map[Fn::GetAtt:[TracesBucket Arn]]"
	for _, tc := range []struct {
		function, role, roleName, memoryParam string
		memoryDefault                         int
		s3                                    []string
	}{
		{"IngestFunction", "ingest", "IngestRole", "IngestMemorySize", 128,
			[]string{"s3:ListBucket " + bucket, "s3:PutObject " + objects}},
		{"QueryFunction", "query", "QueryRole", "QueryMemorySize", 128,
			[]string{"s3:GetObject " + objects, "s3:ListBucket " + bucket}},
		{"CompactFunction", "compact", "CompactRole", "CompactMemorySize", 1024,
			[]string{"s3:DeleteObject " + objects, "s3:GetObject " + objects, "s3:ListBucket " + bucket, "s3:PutObject " + objects}},
	} {
		t.Run(tc.function, func(t *testing.T) {
			f, ok := functions[tc.function]
			if !ok {
				t.Fatalf("no %s", tc.function)
			}
			p := get(f, "Properties")
			for k, want := range map[string]any{
				"Runtime":       "provided.al2023",
				"Handler":       "bootstrap",
				"Architectures": []any{ref("Architecture")},
				"MemorySize":    ref(tc.memoryParam),
				"Role":          getAtt(tc.roleName, "Arn"),
				"Code":          map[string]any{"S3Bucket": ref("CodeBucket"), "S3Key": ref("CodeKey")},
			} {
				if !equal(get(p, k), want) {
					t.Errorf("%s = %v, want %v", k, get(p, k), want)
				}
			}
			if get(params, tc.memoryParam, "Default") != tc.memoryDefault || get(params, tc.memoryParam, "MinValue") != 128 {
				t.Errorf("%s: default %v, min %v", tc.memoryParam, get(params, tc.memoryParam, "Default"), get(params, tc.memoryParam, "MinValue"))
			}
			env := get(p, "Environment", "Variables")
			if get(env, "TRACELAKE_ROLE") != tc.role {
				t.Errorf("TRACELAKE_ROLE = %v, want %s", get(env, "TRACELAKE_ROLE"), tc.role)
			}
			if url := fmt.Sprint(get(env, "TRACELAKE_STORAGE_URL")); !strings.Contains(url, "s3://${TracesBucket}") {
				t.Errorf("TRACELAKE_STORAGE_URL = %s", url)
			}
			for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
				if get(env, k) != nil {
					t.Errorf("%s in the environment: credentials come from the role", k)
				}
			}

			role, ok := roles[tc.roleName]
			if !ok {
				t.Fatalf("no %s", tc.roleName)
			}
			if get(role, "Properties", "ManagedPolicyArns") != nil {
				t.Error("managed policies grant more than the function needs")
			}
			principal := get(role, "Properties", "AssumeRolePolicyDocument", "Statement").([]any)[0]
			if get(principal, "Principal", "Service") != "lambda.amazonaws.com" {
				t.Errorf("role assumed by %v", get(principal, "Principal"))
			}
			var s3, logs []string
			for _, a := range roleActions(t, role) {
				switch {
				case strings.HasPrefix(a, "s3:"):
					s3 = append(s3, a)
				case strings.HasPrefix(a, "logs:"):
					logs = append(logs, a)
				default:
					t.Errorf("unexpected permission %s", a)
				}
				if strings.Contains(a, "*  ") || strings.HasSuffix(a, " *") || strings.Contains(a, ":* ") {
					t.Errorf("wildcard permission %s", a)
				}
			}
			if !slices.Equal(s3, tc.s3) {
				t.Errorf("S3 permissions\n  %s\nwant\n  %s", strings.Join(s3, "\n  "), strings.Join(tc.s3, "\n  "))
			}
			logGroup := strings.TrimSuffix(tc.roleName, "Role") + "LogGroup"
			wantLogs := []string{"logs:CreateLogStream map[Fn::Sub:${" + logGroup + ".Arn}]", "logs:PutLogEvents map[Fn::Sub:${" + logGroup + ".Arn}]"}
			if !slices.Equal(logs, wantLogs) {
				t.Errorf("log permissions %v, want %v", logs, wantLogs)
			}
			if !equal(get(p, "LoggingConfig", "LogGroup"), ref(logGroup)) {
				t.Errorf("logs go to %v, want %s", get(p, "LoggingConfig", "LogGroup"), logGroup)
			}
		})
	}
}

func TestFunctionURLsAndAuth(t *testing.T) {
	tpl := load(t)
	params := tpl["Parameters"].(map[string]any)
	urls := resourcesOfType(tpl, "AWS::Lambda::Url")
	perms := resourcesOfType(tpl, "AWS::Lambda::Permission")
	if len(urls) != 2 {
		t.Fatalf("want URLs for ingest and query only, have %d", len(urls))
	}
	for _, tc := range []struct{ url, function, authParam, condition string }{
		{"IngestUrl", "IngestFunction", "IngestAuthType", "IngestPublic"},
		{"QueryUrl", "QueryFunction", "QueryAuthType", "QueryPublic"},
	} {
		u := get(urls[tc.url], "Properties")
		if !equal(get(u, "TargetFunctionArn"), getAtt(tc.function, "Arn")) || !equal(get(u, "AuthType"), ref(tc.authParam)) || get(u, "InvokeMode") != "BUFFERED" {
			t.Errorf("%s: %v", tc.url, u)
		}
		if get(params, tc.authParam, "Default") != "AWS_IAM" || !equal(get(params, tc.authParam, "AllowedValues"), []any{"AWS_IAM", "NONE"}) {
			t.Errorf("%s: default %v, allowed %v", tc.authParam, get(params, tc.authParam, "Default"), get(params, tc.authParam, "AllowedValues"))
		}
		// Public access only under the NONE condition, and only through the URL.
		var public []string
		for name, p := range perms {
			if !equal(get(p, "Properties", "FunctionName"), ref(tc.function)) || get(p, "Properties", "Principal") != "*" {
				continue
			}
			if p["Condition"] != tc.condition {
				t.Errorf("%s grants public access without condition %s", name, tc.condition)
			}
			props := get(p, "Properties").(map[string]any)
			switch props["Action"] {
			case "lambda:InvokeFunctionUrl":
				if props["FunctionUrlAuthType"] != "NONE" {
					t.Errorf("%s: %v", name, props)
				}
			case "lambda:InvokeFunction":
				if props["InvokedViaFunctionUrl"] != true {
					t.Errorf("%s lets anyone invoke the function directly", name)
				}
			}
			public = append(public, fmt.Sprint(props["Action"]))
		}
		sort.Strings(public)
		if !slices.Equal(public, []string{"lambda:InvokeFunction", "lambda:InvokeFunctionUrl"}) {
			t.Errorf("%s public permissions %v", tc.function, public)
		}
		env := get(tpl, "Resources", tc.function, "Properties", "Environment", "Variables", "TRACELAKE_AUTH_TOKEN")
		if !equal(env, map[string]any{"Fn::If": []any{"HasToken", ref("AuthToken"), ref("AWS::NoValue")}}) {
			t.Errorf("%s: TRACELAKE_AUTH_TOKEN = %v", tc.function, env)
		}
	}
	if get(params, "AuthToken", "NoEcho") != true {
		t.Error("AuthToken must be NoEcho")
	}
	rule := get(tpl, "Rules", "TokenForPublicURLs")
	if !strings.Contains(fmt.Sprint(rule), "Fn::Not:[map[Fn::Equals:[map[Ref:AuthToken] ]]]") {
		t.Errorf("no rule requires a token for public URLs: %v", rule)
	}
	if get(tpl, "Resources", "CompactFunction") != nil {
		for _, u := range urls {
			if equal(get(u, "Properties", "TargetFunctionArn"), getAtt("CompactFunction", "Arn")) {
				t.Error("the compact function must have no URL")
			}
		}
	}
}

func TestCompactionSchedule(t *testing.T) {
	tpl := load(t)
	rules := resourcesOfType(tpl, "AWS::Events::Rule")
	rule, ok := rules["CompactScheduleRule"]
	if !ok {
		t.Fatal("no CompactScheduleRule")
	}
	p := get(rule, "Properties")
	targets := get(p, "Targets").([]any)
	if !equal(get(p, "ScheduleExpression"), ref("CompactSchedule")) || get(p, "State") != "ENABLED" || len(targets) != 1 ||
		!equal(get(targets[0], "Arn"), getAtt("CompactFunction", "Arn")) {
		t.Errorf("schedule rule: %v", p)
	}
	if d := fmt.Sprint(get(tpl, "Parameters", "CompactSchedule", "Default")); !strings.HasPrefix(d, "rate(") && !strings.HasPrefix(d, "cron(") {
		t.Errorf("CompactSchedule default %q", d)
	}
	perm := get(tpl, "Resources", "CompactSchedulePermission", "Properties")
	if get(perm, "Principal") != "events.amazonaws.com" || !equal(get(perm, "SourceArn"), getAtt("CompactScheduleRule", "Arn")) ||
		!equal(get(perm, "FunctionName"), ref("CompactFunction")) || get(perm, "Action") != "lambda:InvokeFunction" {
		t.Errorf("schedule permission: %v", perm)
	}
	if get(tpl, "Resources", "CompactFunction", "Properties", "Timeout") != 900 {
		t.Error("compaction gets Lambda's longest timeout")
	}
}
