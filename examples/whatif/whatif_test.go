package main

import (
	"os"
	"strings"
	"testing"
)

// TestWhatif: the example prints the same twice (the simulator is
// deterministic), answers its question (no breach on Mondays with 24x7
// coverage, some without), and the README's excerpt of it is what it
// prints.
func TestWhatif(t *testing.T) {
	var a, b strings.Builder
	if err := run(&a); err != nil {
		t.Fatal(err)
	}
	if err := run(&b); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Fatalf("two runs differ:\n%s\n---\n%s", a.String(), b.String())
	}
	out := a.String()
	monday := ""
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "breaches on Monday ") {
			monday = strings.Join(strings.Fields(line), " ")
		}
	}
	if f := strings.Fields(monday); len(f) != 6 || f[3] == "0" || f[4] != "0" {
		t.Fatalf("the comparison's Monday line: %q", monday)
	}
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	section := readme[strings.Index(readme, "## What if:"):]
	block := section[strings.Index(section, "```text\n")+8:]
	block = block[:strings.Index(block, "```")]
	for _, line := range strings.Split(strings.TrimSpace(block), "\n") {
		if !strings.Contains(out, line) {
			t.Errorf("the README shows a line the example does not print: %q", line)
		}
	}
}
