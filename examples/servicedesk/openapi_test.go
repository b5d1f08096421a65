package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/itilkit/itil/examples/servicedesk/httpapi"
	"github.com/itilkit/itil/storage/memory"
)

// The document and the table it is made from, as the tests check answers
// against them.
var (
	testTable = newServer(memory.New(), nil, httpapi.StaticTokens(demoTokens), roles).api()
	testDoc   = func() map[string]any {
		b, _ := json.Marshal(openAPI(testTable))
		var doc map[string]any
		_ = json.Unmarshal(b, &doc)
		return doc
	}()
	testMux = func() *http.ServeMux {
		m := http.NewServeMux()
		for _, rt := range testTable {
			m.HandleFunc(rt.method+" "+rt.path, func(http.ResponseWriter, *http.Request) {})
		}
		return m
	}()
)

// TestOpenAPIDocumentsEveryRoute: /openapi.json, served to anyone, has
// an operation for every route the server registers and no other, each
// with its success answer and problem details, and every $ref resolves.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	url := newTestServer(t)
	resp, body := (client{t, url, ""}).do("GET", "/openapi.json", "", "")
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(body), &doc); err != nil || doc["openapi"] != "3.1.0" {
		t.Fatalf("%v %v", err, doc["openapi"])
	}
	ops := 0
	for path, item := range doc["paths"].(map[string]any) {
		for method, op := range item.(map[string]any) {
			ops++
			req := httptest.NewRequest(strings.ToUpper(method), strings.NewReplacer("{id}", "x").Replace(path), nil)
			if _, pattern := testMux.Handler(req); pattern != strings.ToUpper(method)+" "+path {
				t.Errorf("%s %s is documented, the server routes it to %q", method, path, pattern)
			}
			if _, ok := op.(map[string]any)["responses"].(map[string]any)["default"]; !ok {
				t.Errorf("%s %s documents no problem details", method, path)
			}
		}
	}
	if ops != len(testTable) {
		t.Fatalf("%d operations documented, %d routes", ops, len(testTable))
	}
	var refs func(v any)
	refs = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if _, ok := doc["components"].(map[string]any)["schemas"].(map[string]any)[strings.TrimPrefix(ref, "#/components/schemas/")]; !ok {
					t.Errorf("unresolved %s", ref)
				}
			}
			for _, x := range v {
				refs(x)
			}
		case []any:
			for _, x := range v {
				refs(x)
			}
		}
	}
	refs(doc)
}

// TestOpenAPIBodies: each operation documents the body it reads: a
// command commandInput unless it reads another (update_section its
// section), a known error's publication its own; the routes that change
// a record on its version require If-Match, a relationship's removal
// does not (it answers 204, no body).
func TestOpenAPIBodies(t *testing.T) {
	op := func(method, path string) map[string]any {
		t.Helper()
		item, _ := testDoc["paths"].(map[string]any)[path].(map[string]any)
		o, ok := item[method].(map[string]any)
		if !ok {
			t.Fatalf("%s %s is not documented", method, path)
		}
		return o
	}
	body := func(o map[string]any) string {
		rb, _ := o["requestBody"].(map[string]any)
		if rb == nil {
			return ""
		}
		ref, _ := rb["content"].(map[string]any)["application/json"].(map[string]any)["schema"].(map[string]any)["$ref"].(string)
		return strings.TrimPrefix(ref, "#/components/schemas/")
	}
	ifMatch := func(o map[string]any) bool {
		ps, _ := o["parameters"].([]any)
		for _, p := range ps {
			if p := p.(map[string]any); p["name"] == "If-Match" && p["required"] == true {
				return true
			}
		}
		return false
	}
	for _, c := range []struct {
		method, path, body string
		ifMatch            bool
	}{
		{"post", "/lifecycles/{id}/update_section", "sectionInput", true},
		{"post", "/lifecycles/{id}/design", "commandInput", true},
		{"post", "/incidents/{id}/assign", "commandInput", true},
		{"post", "/lifecycles", "newLifecycle", false},
		{"post", "/problems/{id}/known_error", "newKnownError", true},
		{"patch", "/incidents/{id}", "incidentPatch", true},
		{"patch", "/changes/{id}", "changePatch", true},
		{"patch", "/cis/{id}", "ciPatch", true},
		{"put", "/sla/definitions/{id}", "slm.Definition", true},
		{"post", "/sla/definitions", "slm.Definition", false},
		{"delete", "/relationships/{id}", "", false},
	} {
		o := op(c.method, c.path)
		if got := body(o); got != c.body {
			t.Errorf("%s %s documents the body %q, not %q", c.method, c.path, got, c.body)
		}
		if got := ifMatch(o); got != c.ifMatch {
			t.Errorf("%s %s: If-Match required %v, want %v", c.method, c.path, got, c.ifMatch)
		}
	}
	if ok := op("delete", "/relationships/{id}")["responses"].(map[string]any)["204"].(map[string]any); ok["content"] != nil {
		t.Errorf("a relationship's removal documents a body: %v", ok)
	}
	defer func() {
		if recover() == nil {
			t.Error("a body for a command a resource has not: no panic")
		}
	}()
	commandRoutes(nil, "incidents", "an incident", nil, nil, incidentCommands, bodies{"nonsense": sectionInput{}})
}

// checkShape checks an answer of the server against the document: the
// success schema of its route, or problem details.
func checkShape(t *testing.T, req *http.Request, resp *http.Response, body string) {
	t.Helper()
	_, pattern := testMux.Handler(req)
	answered.note(pattern, resp.StatusCode)
	if pattern == "" || resp.Header.Get("Content-Type") == "text/event-stream" || body == "" {
		return
	}
	method, path, _ := strings.Cut(pattern, " ")
	op := testDoc["paths"].(map[string]any)[path].(map[string]any)[strings.ToLower(method)].(map[string]any)
	responses := op["responses"].(map[string]any)
	r, ok := responses[strconv.Itoa(resp.StatusCode)].(map[string]any)
	if !ok {
		r = responses["default"].(map[string]any)
	}
	for _, media := range r["content"].(map[string]any) {
		var v any
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatalf("%s: %d answers no JSON: %s", pattern, resp.StatusCode, body)
		}
		if err := conforms(media.(map[string]any)["schema"].(map[string]any), v, "$"); err != nil {
			t.Fatalf("%s: %d answers off the document: %v\n%s", pattern, resp.StatusCode, err, body)
		}
	}
}

// conforms checks v against the subset of JSON Schema the document
// uses: type, properties (no others allowed), items, additionalProperties
// and $ref.
func conforms(schema map[string]any, v any, at string) error {
	if ref, ok := schema["$ref"].(string); ok {
		schema = testDoc["components"].(map[string]any)["schemas"].(map[string]any)[strings.TrimPrefix(ref, "#/components/schemas/")].(map[string]any)
	}
	types := map[string]bool{}
	switch ty := schema["type"].(type) {
	case string:
		types[ty] = true
	case []any:
		for _, x := range ty {
			types[x.(string)] = true
		}
	case nil:
		return nil // any value
	}
	switch v := v.(type) {
	case nil:
		if !types["null"] {
			return fmt.Errorf("%s: null", at)
		}
	case bool:
		if !types["boolean"] {
			return fmt.Errorf("%s: a boolean", at)
		}
	case float64:
		if !types["number"] && !(types["integer"] && v == float64(int64(v))) {
			return fmt.Errorf("%s: a number", at)
		}
	case string:
		if !types["string"] {
			return fmt.Errorf("%s: a string", at)
		}
	case []any:
		if !types["array"] {
			return fmt.Errorf("%s: an array", at)
		}
		for i, x := range v {
			if err := conforms(schema["items"].(map[string]any), x, at+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
	case map[string]any:
		if !types["object"] {
			return fmt.Errorf("%s: an object", at)
		}
		props, _ := schema["properties"].(map[string]any)
		extra, _ := schema["additionalProperties"].(map[string]any)
		for k, x := range v {
			s, ok := props[k].(map[string]any)
			if !ok {
				if extra == nil {
					return fmt.Errorf("%s.%s: not in the document", at, k)
				}
				s = extra
			}
			if err := conforms(s, x, at+"."+k); err != nil {
				return err
			}
		}
	}
	return nil
}

// answered records each route's answers across the tests, so that
// TestMain can tell a route no test called.
var answered = &routeAnswers{by: map[string][]int{}}

type routeAnswers struct {
	mu sync.Mutex
	by map[string][]int // pattern → statuses
}

func (a *routeAnswers) note(pattern string, status int) {
	if pattern == "" {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.by[pattern] = append(a.by[pattern], status)
}

// unexercised lists the routes of table no test called, and those no
// test saw succeed: reads, creations and commands alike (a command only
// ever refused, 428 or 412, is a command no test ran).
func (a *routeAnswers) unexercised(table []route) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, rt := range table {
		pattern := rt.method + " " + rt.path
		statuses := a.by[pattern]
		switch {
		case len(statuses) == 0:
			out = append(out, pattern+": never called")
		case !slices.ContainsFunc(statuses, func(s int) bool { return s < 300 }):
			out = append(out, fmt.Sprintf("%s: never succeeded (%v)", pattern, statuses))
		}
	}
	return out
}

// TestMain runs the tests and, when every test ran and passed, fails if a
// route of the API was never called or never succeeded (see
// unexercised): a route without a test is a route that may be broken.
func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if code == 0 && flag.Lookup("test.run").Value.String() == "" && flag.Lookup("test.skip").Value.String() == "" {
		table := newServer(memory.New(), nil, httpapi.StaticTokens(demoTokens), roles).api()
		if missing := answered.unexercised(table); len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "routes no test exercised:\n  %s\n", strings.Join(missing, "\n  "))
			code = 1
		}
	}
	os.Exit(code)
}
