package main

import (
	"encoding"
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/examples/servicedesk/httpapi"
	"github.com/itilkit/itil/slm/calendar"
)

// The OpenAPI 3.1 document is made from the same route table the mux
// serves, its schemas from the Go types the routes read and answer (by
// their JSON tags), so neither can drift from the code; the tests check
// every answer the routes give against its schema.

// route is one operation of the API: what the mux serves and what
// /openapi.json documents.
type route struct {
	method, path, summary string
	body                  any // the request body's type (a zero value; nil: none)
	answer                any // the success body's type
	status                int // the success status
	command               bool
	handle                http.HandlerFunc
}

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

// openAPI returns the document of routes.
func openAPI(routes []route) map[string]any {
	g := &schemas{defs: map[string]any{}}
	paths := map[string]any{}
	for _, rt := range routes {
		op := map[string]any{"summary": rt.summary, "operationId": operationID(rt)}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(rt.path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		if rt.command {
			params = append(params, map[string]any{"name": "If-Match", "in": "header", "required": true,
				"description": "the ETag of the version read", "schema": map[string]any{"type": "string"}})
		}
		if rt.method == http.MethodPost {
			params = append(params, map[string]any{"name": "Idempotency-Key", "in": "header",
				"description": "a retry with the same key gets the first answer", "schema": map[string]any{"type": "string", "maxLength": httpapi.MaxIdempotencyKey}})
		}
		if params != nil {
			op["parameters"] = params
		}
		if rt.body != nil {
			op["requestBody"] = map[string]any{"required": !rt.command, "content": map[string]any{
				"application/json": map[string]any{"schema": g.of(reflect.TypeOf(rt.body))}}}
		}
		ok := map[string]any{"description": http.StatusText(rt.status)}
		if rt.answer != nil {
			ok["content"] = map[string]any{contentType(rt): map[string]any{"schema": g.of(reflect.TypeOf(rt.answer))}}
		}
		op["responses"] = map[string]any{
			strconv.Itoa(rt.status): ok,
			"default": map[string]any{"description": "an error, as RFC 9457 problem details", "content": map[string]any{
				"application/problem+json": map[string]any{"schema": g.of(reflect.TypeOf(httpapi.Problem{}))}}},
		}
		item, _ := paths[rt.path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[rt.path] = item
		}
		item[strings.ToLower(rt.method)] = op
	}
	return map[string]any{
		"openapi":    "3.1.0",
		"info":       map[string]any{"title": "itil service desk", "version": "0"},
		"paths":      paths,
		"components": map[string]any{"schemas": g.defs, "securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}}},
		"security":   []any{map[string]any{"bearer": []any{}}},
	}
}

func contentType(rt route) string {
	if rt.path == "/events" {
		return "text/event-stream"
	}
	return "application/json"
}

func operationID(rt route) string {
	s := strings.NewReplacer("/", "_", "{", "", "}", "").Replace(strings.Trim(rt.path, "/"))
	return strings.ToLower(rt.method) + "_" + s
}

// schemas makes JSON Schemas of Go types as encoding/json writes them,
// a named struct once under components/schemas.
type schemas struct{ defs map[string]any }

var (
	timeType    = reflect.TypeOf(time.Time{})
	idType      = reflect.TypeOf(itil.ID{})
	decimalType = reflect.TypeOf(decimal.Decimal{})
	rawType     = reflect.TypeOf(json.RawMessage{})
	durType     = reflect.TypeOf(time.Duration(0))
	// A calendar's week, dates and times of day have JSON of their own
	// (an object of weekdays, "2006-01-02", "09:00").
	weekType      = reflect.TypeOf(calendar.Week{})
	dateType      = reflect.TypeOf(calendar.Date{})
	timeOfDayType = reflect.TypeOf(calendar.TimeOfDay(0))
	// textMarshaler's types encode as JSON strings.
	textMarshaler = reflect.TypeOf((*encoding.TextMarshaler)(nil)).Elem()
)

func (g *schemas) of(t reflect.Type) map[string]any {
	switch t {
	case timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case idType:
		return map[string]any{"type": "string", "format": "uuid"}
	case decimalType:
		return map[string]any{"type": "string", "pattern": `^-?[0-9]+(\.[0-9]+)?$`}
	case rawType:
		return map[string]any{}
	case durType:
		return map[string]any{"type": "integer", "description": "nanoseconds"}
	case weekType:
		days := map[string]any{}
		for _, d := range []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"} {
			days[d] = g.of(reflect.TypeOf([]calendar.Window{}))
		}
		return map[string]any{"type": "object", "properties": days}
	case dateType:
		return map[string]any{"type": "string", "format": "date"}
	case timeOfDayType:
		return map[string]any{"type": "string", "pattern": `^[0-9]{2}:[0-9]{2}(:[0-9]{2})?$`}
	}
	if t.Implements(textMarshaler) || reflect.PointerTo(t).Implements(textMarshaler) {
		return map[string]any{"type": "string"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.of(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": []any{"array", "null"}, "items": g.of(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.of(t.Elem())}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		name := t.Name()
		if name == "" {
			return g.object(t)
		}
		if pkg := t.PkgPath(); pkg != ownPkg { // the example's own types go by their name alone
			name = pkg[strings.LastIndex(pkg, "/")+1:] + "." + name
		}
		if _, ok := g.defs[name]; !ok {
			g.defs[name] = map[string]any{} // placeholder: a type that refers to itself
			g.defs[name] = g.object(t)
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	return map[string]any{}
}

// object is the schema of a struct's JSON object: its exported fields by
// their JSON names, embedded structs' fields inlined.
func (g *schemas) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for k, v := range g.object(f.Type)["properties"].(map[string]any) {
				props[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = g.of(f.Type)
	}
	return map[string]any{"type": "object", "properties": props}
}

// ownPkg is the example's package path: "main" in its binary, the
// module's path in its test binary.
var ownPkg = reflect.TypeFor[route]().PkgPath()
