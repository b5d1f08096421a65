package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/itilkit/itil/examples/servicedesk/httpapi"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/memory"
	"github.com/itilkit/itil/storage/sqlite"
)

// client calls the test server as one of the demo callers.
type client struct {
	t     *testing.T
	url   string
	token string
}

func (c client) do(method, path, etag, body string) (*http.Response, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.url+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if etag != "" {
		req.Header.Set("If-Match", etag)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	checkShape(c.t, req, resp, string(b))
	return resp, string(b)
}

// refusesStale checks that a change (method path, with body) is refused
// without If-Match (428) and on the stale ETag (412), and that neither
// refusal wrote anything: the record read answers the same ETag and
// body after them as before.
func (c client) refusesStale(method, path, stale, body, read string) {
	c.t.Helper()
	before, was := c.do("GET", read, "", "")
	if before.StatusCode != 200 {
		c.t.Fatalf("%s: %d %s", read, before.StatusCode, was)
	}
	if resp, got := c.do(method, path, "", body); resp.StatusCode != 428 {
		c.t.Fatalf("%s %s without If-Match: %d %s", method, path, resp.StatusCode, got)
	}
	if resp, got := c.do(method, path, stale, body); resp.StatusCode != 412 {
		c.t.Fatalf("%s %s on the stale %s: %d %s", method, path, stale, resp.StatusCode, got)
	}
	after, is := c.do("GET", read, "", "")
	if after.Header.Get("ETag") != before.Header.Get("ETag") || is != was {
		c.t.Fatalf("a refused %s %s wrote: %s %s, was %s %s", method, path, after.Header.Get("ETag"), is, before.Header.Get("ETag"), was)
	}
}

func newTestServer(t *testing.T) string {
	return startServer(t, memory.New())
}

func startServer(t *testing.T, b storage.Backend) string {
	ts := httptest.NewServer(newServer(b, nil, httpapi.StaticTokens(demoTokens), roles).routes())
	t.Cleanup(ts.Close)
	return ts.URL
}

// each runs test against a server on each embedded backend: memory and a
// fresh SQLite file.
func each(t *testing.T, test func(t *testing.T, url string)) {
	eachBackend(t, func(t *testing.T, b storage.Backend) { test(t, startServer(t, b)) })
}

// eachBackend runs test on each embedded backend: memory and a fresh
// SQLite file.
func eachBackend(t *testing.T, test func(t *testing.T, b storage.Backend)) {
	t.Run("memory", func(t *testing.T) { test(t, memory.New()) })
	t.Run("sqlite", func(t *testing.T) {
		b, err := sqlite.Open(filepath.Join(t.TempDir(), "desk.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		test(t, b)
	})
}

// TestIncidentRoutes: an incident opened, read, assigned on its ETag,
// refused on a stale one (412) and without one (428), resolved; bad
// input, unknown records, forbidden commands and unauthenticated calls
// answer their problem details.
func TestIncidentRoutes(t *testing.T) {
	each(t, func(t *testing.T, url string) {
		agent := client{t, url, "agent-token"}
		resp, body := agent.do("POST", "/incidents", "", `{"title":"Mail down","caller":{"id":"casey"},"channel":"phone","impact":2,"urgency":2}`)
		if resp.StatusCode != 201 || resp.Header.Get("ETag") != `"1"` || !strings.HasPrefix(resp.Header.Get("Location"), "/incidents/") {
			t.Fatalf("open: %d %v %s", resp.StatusCode, resp.Header, body)
		}
		loc := resp.Header.Get("Location")
		var inc struct {
			Number string `json:"number"`
			State  string `json:"state"`
		}
		if err := json.Unmarshal([]byte(body), &inc); err != nil || inc.Number != "INC0001001" || inc.State != "new" {
			t.Fatalf("%s %v", body, err)
		}
		resp, _ = agent.do("GET", loc, "", "")
		if resp.StatusCode != 200 || resp.Header.Get("ETag") != `"1"` || len(resp.Header.Get("X-Request-ID")) != 16 {
			t.Fatalf("get: %d %s", resp.StatusCode, resp.Header.Get("ETag"))
		}
		if resp, _ = agent.do("POST", loc+"/assign", "", `{"group":"messaging","assignee":"sam"}`); resp.StatusCode != 428 {
			t.Fatalf("a command without If-Match: %d", resp.StatusCode)
		}
		resp, body = agent.do("POST", loc+"/assign", `"1"`, `{"group":"messaging","assignee":"sam"}`)
		if resp.StatusCode != 200 || resp.Header.Get("ETag") != `"2"` {
			t.Fatalf("assign: %d %s", resp.StatusCode, body)
		}
		if resp, _ = agent.do("POST", loc+"/resolve", `"1"`, `{"code":"solution_provided","notes":"restarted"}`); resp.StatusCode != 412 {
			t.Fatalf("a stale If-Match: %d", resp.StatusCode)
		}
		resp, body = agent.do("POST", loc+"/close", `"2"`, ``)
		if resp.StatusCode != 409 || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("closing an incident not resolved: %d %s", resp.StatusCode, body)
		}
		if resp, body = agent.do("POST", loc+"/resolve", `"2"`, `{"code":"solution_provided","notes":"restarted"}`); resp.StatusCode != 200 {
			t.Fatalf("resolve: %d %s", resp.StatusCode, body)
		}
		resp, body = agent.do("POST", "/incidents", "", `{"title":"","impact":9}`)
		var p httpapi.Problem
		if err := json.Unmarshal([]byte(body), &p); resp.StatusCode != 422 || err != nil || len(p.Errors) < 2 {
			t.Fatalf("bad input: %d %s", resp.StatusCode, body)
		}
		if resp, _ = agent.do("GET", "/incidents/01a2513e-43a9-7ad5-bcc3-5520bbb128e2", "", ""); resp.StatusCode != 404 {
			t.Fatalf("unknown: %d", resp.StatusCode)
		}
		if resp, _ = agent.do("GET", "/incidents/nope", "", ""); resp.StatusCode != 404 {
			t.Fatalf("no ID: %d", resp.StatusCode)
		}
		cab := client{t, url, "cab-token"}
		if resp, body = cab.do("POST", "/incidents", "", `{"title":"x","caller":{"id":"c"},"channel":"phone","impact":2,"urgency":2}`); resp.StatusCode != 403 {
			t.Fatalf("a CAB member opens an incident: %d %s", resp.StatusCode, body)
		}
		if resp, _ = (client{t, url, "stolen"}).do("GET", "/incidents", "", ""); resp.StatusCode != 401 {
			t.Fatalf("unauthenticated: %d", resp.StatusCode)
		}
	})
}

// TestIncidentUpdate: an incident's fields are changed on its ETag, the
// priority derived again; refused without If-Match (428) and on a stale
// one (412), neither writing; a patch that changes nothing or a bad
// body answers 422, an unknown incident 404, a CAB member 403.
func TestIncidentUpdate(t *testing.T) {
	each(t, func(t *testing.T, url string) {
		agent := client{t, url, "agent-token"}
		resp, body := agent.do("POST", "/incidents", "", `{"title":"Mail down","caller":{"id":"casey"},"channel":"phone","impact":3,"urgency":3}`)
		if resp.StatusCode != 201 || resp.Header.Get("ETag") != `"1"` {
			t.Fatalf("open: %d %s", resp.StatusCode, body)
		}
		loc := resp.Header.Get("Location")
		resp, body = agent.do("PATCH", loc, `"1"`, `{"title":"Mail down for everyone","category":"email","impact":1,"urgency":1}`)
		var inc struct {
			Title    string `json:"title"`
			Category string `json:"category"`
			Priority int    `json:"priority"`
			Version  int    `json:"version"`
		}
		if err := json.Unmarshal([]byte(body), &inc); err != nil || resp.StatusCode != 200 || resp.Header.Get("ETag") != `"2"` ||
			inc.Title != "Mail down for everyone" || inc.Category != "email" || inc.Priority != 1 || inc.Version != 2 {
			t.Fatalf("update: %d %s %s", resp.StatusCode, resp.Header.Get("ETag"), body)
		}
		agent.refusesStale("PATCH", loc, `"1"`, `{"title":"Mail is fine"}`, loc)
		if resp, body = agent.do("GET", loc, "", ""); resp.Header.Get("ETag") != `"2"` || !strings.Contains(body, `"title":"Mail down for everyone"`) {
			t.Fatalf("read: %s %s", resp.Header.Get("ETag"), body)
		}
		if resp, body = agent.do("PATCH", loc, `"2"`, `{"title":"Mail down for everyone"}`); resp.StatusCode != 422 {
			t.Fatalf("a patch that changes nothing: %d %s", resp.StatusCode, body)
		}
		if resp, body = agent.do("PATCH", loc, `"2"`, `{"impact":"high"}`); resp.StatusCode != 422 || !strings.Contains(body, `"body"`) {
			t.Fatalf("a bad body: %d %s", resp.StatusCode, body)
		}
		if resp, body = (client{t, url, "cab-token"}).do("PATCH", loc, `"2"`, `{"title":"x"}`); resp.StatusCode != 403 {
			t.Fatalf("a CAB member updates an incident: %d %s", resp.StatusCode, body)
		}
		if resp, _ = agent.do("PATCH", "/incidents/01a2513e-43a9-7ad5-bcc3-5520bbb128e2", `"1"`, `{"title":"x"}`); resp.StatusCode != 404 {
			t.Fatalf("an unknown incident: %d", resp.StatusCode)
		}
		if resp, _ = agent.do("GET", loc, "", ""); resp.Header.Get("ETag") != `"2"` {
			t.Fatalf("a refused update wrote: %s", resp.Header.Get("ETag"))
		}
	})
}

// TestIncidentPages: a list is paged by cursor through Link headers, the
// filters kept, each incident once.
func TestIncidentPages(t *testing.T) {
	each(t, func(t *testing.T, url string) {
		agent := client{t, url, "agent-token"}
		for range 5 {
			if resp, body := agent.do("POST", "/incidents", "", `{"title":"x","caller":{"id":"c"},"channel":"phone","impact":2,"urgency":2}`); resp.StatusCode != 201 {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
		}
		seen := map[string]bool{}
		path := "/incidents?limit=2&state=new"
		pages := 0
		for path != "" {
			resp, body := agent.do("GET", path, "", "")
			var page []struct {
				Number string `json:"number"`
			}
			if err := json.Unmarshal([]byte(body), &page); err != nil || resp.StatusCode != 200 {
				t.Fatalf("%d %s %v", resp.StatusCode, body, err)
			}
			for _, inc := range page {
				if seen[inc.Number] {
					t.Fatalf("%s twice", inc.Number)
				}
				seen[inc.Number] = true
			}
			pages++
			path = ""
			if link := resp.Header.Get("Link"); link != "" {
				path = link[strings.Index(link, "<")+1 : strings.Index(link, ">")]
				if !strings.Contains(path, "state=new") {
					t.Fatalf("the filter lost: %s", path)
				}
			}
		}
		if len(seen) != 5 || pages != 3 {
			t.Fatalf("%d incidents in %d pages", len(seen), pages)
		}
	})
}

// TestEventStream: the journal as Server-Sent Events, each with its Seq
// as id; a client that reconnects with Last-Event-ID resumes after it.
func TestEventStream(t *testing.T) {
	each(t, func(t *testing.T, url string) {
		agent := client{t, url, "agent-token"}
		for range 3 {
			agent.do("POST", "/incidents", "", `{"title":"x","caller":{"id":"c"},"channel":"phone","impact":2,"urgency":2}`)
		}
		read := func(lastID string, want int) []string {
			t.Helper()
			// A bound on a stream that never brings the events wanted,
			// so that the test fails instead of hanging.
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", url+"/events?kind=incident", nil)
			req.Header.Set("Authorization", "Bearer agent-token")
			if lastID != "" {
				req.Header.Set("Last-Event-ID", lastID)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			checkShape(t, req, resp, "")
			if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
				t.Fatalf("content type %q", ct)
			}
			var ids []string
			buf := make([]byte, 0, 64<<10)
			tmp := make([]byte, 4096)
			for len(ids) < want {
				n, err := resp.Body.Read(tmp)
				buf = append(buf, tmp[:n]...)
				ids = ids[:0]
				for _, line := range strings.Split(string(buf), "\n") {
					if id, ok := strings.CutPrefix(line, "id: "); ok {
						ids = append(ids, id)
					}
				}
				if err != nil {
					break
				}
			}
			return ids
		}
		all := read("", 3)
		if len(all) != 3 {
			t.Fatalf("ids %v", all)
		}
		if rest := read(all[0], 2); len(rest) != 2 || rest[0] != all[1] || rest[1] != all[2] {
			t.Fatalf("resumed after %s: %v of %v", all[0], rest, all)
		}
		if resp, _ := agent.do("GET", "/events?after=x", "", ""); resp.StatusCode != 422 {
			t.Fatalf("a bad position: %d", resp.StatusCode)
		}
	})
}

// TestShutdownEndsStreams: a graceful shutdown ends the event streams
// open, and so returns once the other requests are done (a stream never
// goes idle by itself).
func TestShutdownEndsStreams(t *testing.T) {
	s := newServer(memory.New(), nil, httpapi.StaticTokens(demoTokens), roles)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := s.httpServer(ln.Addr().String())
	go func() { _ = srv.Serve(ln) }()
	req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/events", nil)
	req.Header.Set("Authorization", "Bearer agent-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("the stream: %d", resp.StatusCode)
	}
	// A bound on a hang (Shutdown would wait for the stream forever).
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown with a stream open: %v", err)
	}
	if _, err := io.ReadAll(resp.Body); err != nil {
		t.Fatalf("the stream did not end cleanly: %v", err)
	}
}
