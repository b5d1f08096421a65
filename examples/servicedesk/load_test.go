package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/memory"
	"github.com/itilkit/itil/storage/postgres"
	"github.com/itilkit/itil/storage/sqlite"
)

var (
	loadFor     = flag.Duration("load", 0, "run TestLoad for this long on each backend (0: skip)")
	loadClients = flag.Int("load-clients", 16, "TestLoad's concurrent clients")
)

// TestLoad drives the service desk on 127.0.0.1 with concurrent clients
// for -load on each backend (memory, SQLite, and PostgreSQL with
// ITIL_POSTGRES_DSN), two instances of the server on one store, the
// clients split between them: each opens an incident, reads it, assigns it and
// resolves it, over and over, reading the queue's first page every eighth
// time. It reports requests per second, p50 and p99 latency and
// errors, then checks that every command the server acknowledged is
// there: each incident acknowledged as resolved reads resolved.
//
//	go test ./examples/servicedesk -run TestLoad -load 20s -v
func TestLoad(t *testing.T) {
	if *loadFor <= 0 {
		t.Skip("-load is not set")
	}
	// Each backend's two instances: on memory one backend shared, on
	// SQLite two opened on one file, on PostgreSQL two pools on one
	// database.
	mem := memory.New()
	backends := map[string]func(t *testing.T, dir string) storage.Backend{
		"memory": func(*testing.T, string) storage.Backend { return mem },
		"sqlite": func(t *testing.T, dir string) storage.Backend {
			b, err := sqlite.Open(filepath.Join(dir, "desk.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close() })
			return b
		},
	}
	if dsn := os.Getenv("ITIL_POSTGRES_DSN"); dsn != "" {
		backends["postgres"] = func(t *testing.T, _ string) storage.Backend {
			b, err := postgres.Open(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close() })
			return b
		}
	}
	for _, name := range []string{"memory", "sqlite", "postgres"} {
		open, ok := backends[name]
		if !ok {
			continue
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			load(t, name, startServer(t, open(t, dir)), startServer(t, open(t, dir)))
		})
	}
}

// load runs the clients against the instances at urls, each client on
// one of them in turn, on the backend named backend.
func load(t *testing.T, backend string, urls ...string) {
	type result struct {
		lat      []time.Duration
		errors   int
		resolved []string // incidents acknowledged as resolved
	}
	results := make([]result, *loadClients)
	deadline := time.Now().Add(*loadFor)
	run := fmt.Sprintf("%d", time.Now().UnixNano()) // idempotency keys unique to the run
	var wg sync.WaitGroup
	for c := range results {
		url := urls[c%len(urls)]
		wg.Go(func() {
			r := &results[c]
			hc := &http.Client{Timeout: 30 * time.Second}
			call := func(method, path, etag, key, body string) (*http.Response, string) {
				req, _ := http.NewRequest(method, url+path, strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer agent-token")
				if etag != "" {
					req.Header.Set("If-Match", etag)
				}
				if key != "" {
					req.Header.Set("Idempotency-Key", key)
				}
				t0 := time.Now()
				resp, err := hc.Do(req)
				r.lat = append(r.lat, time.Since(t0))
				if err != nil {
					r.errors++
					return nil, ""
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				if resp.StatusCode >= 300 {
					r.errors++
				}
				return resp, string(b)
			}
			for i := 0; time.Now().Before(deadline); i++ {
				key := fmt.Sprintf("%s-%d-%d", run, c, i)
				resp, _ := call("POST", "/incidents", "", key, `{"title":"Load","caller":{"id":"casey"},"channel":"phone","impact":2,"urgency":2}`)
				if resp == nil || resp.StatusCode != 201 {
					continue
				}
				loc, etag := resp.Header.Get("Location"), resp.Header.Get("ETag")
				call("GET", loc, "", "", "") // as an agent's page would
				if i%8 == 0 {
					call("GET", "/incidents?state=new&limit=20", "", "", "") // the queue
				}
				resp, _ = call("POST", loc+"/assign", etag, key+"-a", `{"group":"messaging","assignee":"mia"}`)
				if resp == nil || resp.StatusCode != 200 {
					continue
				}
				resp, _ = call("POST", loc+"/resolve", resp.Header.Get("ETag"), key+"-r", `{"code":"solution_provided","notes":"done"}`)
				if resp != nil && resp.StatusCode == 200 {
					r.resolved = append(r.resolved, loc)
				}
			}
		})
	}
	wg.Wait()
	var lat []time.Duration
	errors, resolved := 0, 0
	for _, r := range results {
		lat = append(lat, r.lat...)
		errors += r.errors
		resolved += len(r.resolved)
	}
	slices.Sort(lat)
	pct := func(p int) time.Duration { return lat[max((p*len(lat)+99)/100, 1)-1] }
	t.Logf("%s, %d instances: %d clients for %s: %d requests, %.0f requests/s, p50 %s, p99 %s, %d errors, %d incidents resolved",
		backend, len(urls), *loadClients, *loadFor, len(lat), float64(len(lat))/loadFor.Seconds(), pct(50), pct(99), errors, resolved)
	// Every acknowledged command is there.
	c := client{t, urls[0], "agent-token"} // each instance's work, read on the first
	for _, r := range results {
		for _, loc := range r.resolved {
			resp, body := c.do("GET", loc, "", "")
			var inc struct {
				State string `json:"state"`
			}
			if err := json.Unmarshal([]byte(body), &inc); err != nil || resp.StatusCode != 200 || inc.State != "resolved" {
				t.Fatalf("%s, acknowledged resolved: %d %s", loc, resp.StatusCode, body)
			}
		}
	}
	if errors > 0 {
		t.Errorf("%d requests failed", errors)
	}
}
