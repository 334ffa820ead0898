package scalebench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
)

// The simulated system: a shop of 30 services in four layers. Entry
// services (layer 0) call business services (1), which call support
// services (2), which call data services (3); every service has about ten
// span names of its own (server operations, internal steps, database
// statements) and some produce to or consume from Kafka topics. Which
// service is popular, who calls whom and each operation's typical latency
// are drawn once from the seed.

// A kv is an attribute, kept as plain Go values so that generators on
// several goroutines can share the world without sharing pdata.
type kv struct {
	key   string
	str   string
	num   int64
	isNum bool
}

type protocol int

const (
	protoHTTP protocol = iota
	protoGRPC
)

type operation struct {
	name   string // the server span's name
	method string // HTTP method ("" for gRPC)
	route  string // http.route, or the gRPC method
	url    string // url.full of HTTP client spans calling it
	median float64
	sigma  float64
}

type statement struct {
	name string // span name: "SELECT orders"
	op   string // db.operation.name
	text string // db.query.text
}

type service struct {
	name   string
	layer  int
	proto  protocol
	rpcSvc string // gRPC service name
	port   int64
	weight float64 // popularity

	resources [][]kv // per instance
	scope     string
	scopeVer  string

	ops    []operation
	opsCum []float64
	// internal are names of internal spans, internalFn their
	// code.function.name.
	internal, internalFn []string
	// db is the database system ("" for none), dbName its namespace.
	db, dbName, dbHost string
	stmts              []statement
	// down are the services called, downCum their cumulative weights.
	down    []int
	downCum []float64
	// produces is a Kafka topic ("" for none), consumers the services
	// consuming it.
	produces  string
	consumers []int
	// consumes is the topic this service consumes ("" for none).
	consumes string
}

type world struct {
	services []*service
	// roots are the services traces start at, rootsCum their weights:
	// mostly the entry services, some background jobs elsewhere.
	roots    []int
	rootsCum []float64
	// users is how many distinct user.id values there are.
	users int
}

var layers = [][]string{
	{"frontend", "api-gateway", "mobile-bff"},
	{"checkout", "cart", "catalog", "search", "recommendation", "user-profile", "auth", "orders", "pricing", "inventory"},
	{"payment", "shipping", "currency", "ad", "email", "notification", "fraud-detection", "loyalty", "reviews", "media", "geo", "tax"},
	{"accounting", "warehouse", "analytics", "audit-log", "feature-flags"},
}

var (
	languages = []struct{ lang, scope, ver string }{
		{"go", "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp", "0.63.0"},
		{"java", "io.opentelemetry.spring-webmvc-6.0", "2.21.0-alpha"},
		{"python", "opentelemetry.instrumentation.flask", "0.58b0"},
		{"nodejs", "@opentelemetry/instrumentation-http", "0.206.0"},
		{"dotnet", "OpenTelemetry.Instrumentation.AspNetCore", "1.12.0"},
	}
	httpVerbs     = []string{"GET", "GET", "GET", "POST", "PUT", "DELETE"}
	httpResources = []string{"", "/{id}", "/items", "/items/{id}", "/search", "/summary", "/history", "/status", "/batch", "/config"}
	grpcVerbs     = []string{"Get", "List", "Create", "Update", "Check", "Compute", "Sync", "Delete", "Validate", "Reserve"}
	grpcNouns     = []string{"", "Item", "Items", "Status", "Quote", "Record", "Details", "Batch", "Summary", "Config"}
	internalNames = []string{"validate request", "serialize response", "render template", "cache lookup", "compute totals",
		"apply rules", "build query", "map results", "check permissions", "load config"}
	dbSystems = []struct{ system, host string }{
		{"postgresql", "postgres"}, {"postgresql", "postgres"}, {"mysql", "mysql"},
		{"redis", "redis"}, {"redis", "redis"}, {"mongodb", "mongo"}, {"elasticsearch", "elasticsearch"},
	}
	topics = []string{"orders", "payments", "user-events", "inventory-updates", "notifications"}
)

// newWorld draws the system from rng.
func newWorld(rng *rand.Rand, users int) *world {
	w := &world{users: users}
	var all []*service
	for layer, names := range layers {
		for _, name := range names {
			all = append(all, &service{name: name, layer: layer})
		}
	}
	// Popularity: Zipf over a random ranking of all services.
	rank := rng.Perm(len(all))
	for i, s := range all {
		s.weight = 1 / math.Pow(float64(rank[i]+1), 1.1)
	}
	for i, s := range all {
		lang := languages[rng.IntN(len(languages))]
		s.scope, s.scopeVer = lang.scope, lang.ver
		s.proto = protoGRPC
		if s.layer == 0 || (s.layer == 1 && rng.IntN(2) == 0) {
			s.proto = protoHTTP
		}
		s.port = 8080
		if s.proto == protoGRPC {
			s.port = 50051
			s.rpcSvc = "shop." + camel(s.name) + "Service"
			s.scope = "go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
			s.scopeVer = "0.63.0"
		}
		version := fmt.Sprintf("%d.%d.%d", 1+rng.IntN(3), rng.IntN(20), rng.IntN(10))
		instances := 2 + rng.IntN(7)
		for j := range instances {
			pod := fmt.Sprintf("%s-%07x-%05x", s.name, rng.Uint32()>>4, rng.Uint32()>>12)
			s.resources = append(s.resources, []kv{
				{key: "service.name", str: s.name},
				{key: "service.namespace", str: "shop"},
				{key: "service.version", str: version},
				{key: "service.instance.id", str: fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", rng.Uint32(), rng.Uint32()>>16, rng.IntN(1<<12), rng.IntN(1<<12), rng.Uint64()>>16)},
				{key: "host.name", str: pod},
				{key: "k8s.pod.name", str: pod},
				{key: "k8s.namespace.name", str: "shop"},
				{key: "k8s.node.name", str: fmt.Sprintf("ip-10-0-%d-%d.ec2.internal", (i+j)%8, 10+rng.IntN(240))},
				{key: "deployment.environment.name", str: "production"},
				{key: "cloud.region", str: "eu-west-1"},
				{key: "telemetry.sdk.name", str: "opentelemetry"},
				{key: "telemetry.sdk.language", str: lang.lang},
				{key: "telemetry.sdk.version", str: "1.38.0"},
			})
		}
		// Server operations: 6 to 8, Zipf-weighted, each with its own
		// typical latency (log-uniform 2 ms to 150 ms, deeper layers faster).
		nops := 6 + rng.IntN(3)
		seen := map[string]bool{}
		for len(s.ops) < nops {
			var op operation
			if s.proto == protoHTTP {
				op.method = httpVerbs[rng.IntN(len(httpVerbs))]
				op.route = "/api/" + s.name + httpResources[rng.IntN(len(httpResources))]
				op.name = op.method + " " + op.route
				op.url = "http://" + s.name + ":8080" + strings.ReplaceAll(op.route, "{id}", "42")
			} else {
				op.route = grpcVerbs[rng.IntN(len(grpcVerbs))] + camel(s.name) + grpcNouns[rng.IntN(len(grpcNouns))]
				op.name = s.rpcSvc + "/" + op.route
			}
			if seen[op.name] {
				continue
			}
			seen[op.name] = true
			op.median = math.Exp(math.Log(2)+rng.Float64()*(math.Log(150)-math.Log(2))) / float64(1+s.layer/2)
			op.sigma = 0.5 + rng.Float64()*0.5
			s.ops = append(s.ops, op)
		}
		s.opsCum = zipfCum(len(s.ops), 1.0)
		for _, k := range rng.Perm(len(internalNames))[:2] {
			s.internal = append(s.internal, internalNames[k])
			s.internalFn = append(s.internalFn, "shop/"+s.name+"."+camel(strings.ReplaceAll(internalNames[k], " ", "-")))
		}
		if s.layer > 0 && rng.IntN(4) != 0 {
			db := dbSystems[rng.IntN(len(dbSystems))]
			s.db, s.dbHost = db.system, db.host+"-"+s.name
			s.dbName = strings.ReplaceAll(s.name, "-", "_")
			s.stmts = statements(rng, s.db, s.dbName)
		}
	}

	// Calls: every service calls 2 to 5 services of deeper layers, picked
	// by popularity; a service nobody calls gets a caller.
	called := make([]bool, len(all))
	for _, s := range all {
		if s.layer == len(layers)-1 {
			continue
		}
		var deeper []int
		var weights []float64
		for j, t := range all {
			if t.layer > s.layer && (t.layer <= s.layer+2) {
				deeper = append(deeper, j)
				weights = append(weights, t.weight)
			}
		}
		n := 2 + rng.IntN(4)
		if s.layer == 2 {
			n = rng.IntN(3)
		}
		for len(s.down) < n && len(s.down) < len(deeper) {
			j := deeper[pick(rng, cumulative(weights))]
			if !slices.Contains(s.down, j) {
				s.down = append(s.down, j)
				called[j] = true
			}
		}
	}
	for j, t := range all {
		if t.layer == 0 || called[j] {
			continue
		}
		var callers []int
		for i, s := range all {
			if s.layer == t.layer-1 {
				callers = append(callers, i)
			}
		}
		c := all[callers[rng.IntN(len(callers))]]
		c.down = append(c.down, j)
	}
	for _, s := range all {
		var weights []float64
		for _, j := range s.down {
			weights = append(weights, all[j].weight)
		}
		s.downCum = cumulative(weights)
	}

	// Kafka: some business services produce, some deeper ones consume.
	for k, topic := range topics {
		var producers, consumers []int
		for i, s := range all {
			switch {
			case s.layer == 1 && s.produces == "":
				producers = append(producers, i)
			case s.layer >= 2 && s.consumes == "":
				consumers = append(consumers, i)
			}
		}
		if len(producers) == 0 || len(consumers) == 0 {
			break
		}
		p := all[producers[(k*3+rng.IntN(2))%len(producers)]]
		p.produces = topic
		for range 1 + rng.IntN(2) {
			c := consumers[rng.IntN(len(consumers))]
			if all[c].consumes == "" {
				all[c].consumes = topic
				p.consumers = append(p.consumers, c)
			}
		}
		if len(p.consumers) == 0 {
			p.produces = ""
		}
	}

	w.services = all
	// Roots: 92% of traces enter through the entry services, by
	// popularity; the rest are background jobs of business services.
	var weights []float64
	for i, s := range all {
		switch s.layer {
		case 0:
			w.roots = append(w.roots, i)
			weights = append(weights, 0.92*s.weight/layerWeight(all, 0))
		case 1:
			w.roots = append(w.roots, i)
			weights = append(weights, 0.08*s.weight/layerWeight(all, 1))
		}
	}
	w.rootsCum = cumulative(weights)
	return w
}

func layerWeight(all []*service, layer int) float64 {
	var sum float64
	for _, s := range all {
		if s.layer == layer {
			sum += s.weight
		}
	}
	return sum
}

func statements(rng *rand.Rand, system, db string) []statement {
	tables := []string{db, db + "_items", db + "_events", db + "_audit"}
	var out []statement
	for i := range 3 + rng.IntN(2) {
		table := tables[i%len(tables)]
		var st statement
		switch system {
		case "redis":
			op := []string{"GET", "SET", "HGETALL", "EXPIRE"}[i%4]
			st = statement{name: op, op: op, text: op + " " + table + ":?"}
		case "mongodb":
			op := []string{"find", "insert", "update", "aggregate"}[i%4]
			st = statement{name: op + " " + table, op: op, text: fmt.Sprintf(`{"%s":"%s","filter":{"_id":"?"}}`, op, table)}
		case "elasticsearch":
			op := []string{"search", "index", "get", "bulk"}[i%4]
			st = statement{name: op, op: op, text: "POST /" + table + "/_" + op}
		default:
			switch i % 4 {
			case 0:
				st = statement{op: "SELECT", text: "SELECT id, status, total, updated_at FROM " + table + " WHERE user_id = $1 ORDER BY updated_at DESC LIMIT 20"}
			case 1:
				st = statement{op: "SELECT", text: "SELECT * FROM " + table + " WHERE id = $1"}
			case 2:
				st = statement{op: "INSERT", text: "INSERT INTO " + table + " (id, user_id, payload, created_at) VALUES ($1, $2, $3, now())"}
			case 3:
				st = statement{op: "UPDATE", text: "UPDATE " + table + " SET status = $1, updated_at = now() WHERE id = $2"}
			}
			st.name = st.op + " " + table
		}
		out = append(out, st)
	}
	return out
}

func camel(s string) string {
	var b strings.Builder
	for part := range strings.SplitSeq(s, "-") {
		if part == "" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// zipfCum is the cumulative weights of n items of Zipf popularity s.
func zipfCum(n int, s float64) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = 1 / math.Pow(float64(i+1), s)
	}
	return cumulative(w)
}

func cumulative(w []float64) []float64 {
	out := make([]float64, len(w))
	var sum float64
	for i, x := range w {
		sum += x
		out[i] = sum
	}
	return out
}

// pick returns an index at random, weighted by the cumulative weights cum.
func pick(rng *rand.Rand, cum []float64) int {
	x := rng.Float64() * cum[len(cum)-1]
	return min(sort.SearchFloat64s(cum, x), len(cum)-1)
}
