package main

import "testing"

// TestRedacted: a DSN's password is not logged, in its user part or as a
// parameter; other specs are logged as they are.
func TestRedacted(t *testing.T) {
	for spec, want := range map[string]string{
		"memory":                  "memory",
		"sqlite:desk.db":          "sqlite:desk.db",
		"sqlite:/var/lib/desk.db": "sqlite:/var/lib/desk.db",
		"postgres://desk:s3cret@db:5432/itil?sslmode=disable":          "postgres://desk:xxxxx@db:5432/itil?sslmode=disable",
		"postgres://desk@db/itil?password=s3cret&sslmode=require":      "postgres://desk@db/itil?password=xxxxx&sslmode=require",
		"postgres://postgres@127.0.0.1:55432/postgres?sslmode=disable": "postgres://postgres@127.0.0.1:55432/postgres?sslmode=disable",
	} {
		if got := redacted(spec); got != want {
			t.Errorf("redacted(%q) = %q, want %q", spec, got, want)
		}
	}
}
