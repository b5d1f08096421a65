// Package soak holds the soak test (soak_test.go): sixteen goroutines run
// a mixed workload — incident commands, CMDB changes and imports, SLA
// monitor rounds and a journal feed consumer — as two application
// instances on one store, for a bounded time on every backend, and then
// check the journal, the stored versions and the consumer against what
// every command acknowledged.
//
//	go test ./internal/soak              # a short run per backend
//	go test ./internal/soak -soak=30s    # as CI runs it
//	go test ./internal/soak -soak=10m -v # by hand
//
// The PostgreSQL run needs ITIL_POSTGRES_DSN (as storage/postgres's
// tests); without it that run is skipped.
package soak
