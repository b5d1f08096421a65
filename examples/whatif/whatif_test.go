package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestWhatif: the example prints the same twice (the simulator is
// deterministic), answers its question (breaches on Monday mornings
// without 24x7 coverage, fewer with it), and the README's excerpt of it is
// what it prints.
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
	var asIs, around int
	if _, err := fmt.Sscanf(out[strings.Index(out, "The answer: "):], "The answer: %d breaches landed on Monday mornings (until 13:00) with office hours, %d with 24x7 coverage.",
		&asIs, &around); err != nil || asIs == 0 || around >= asIs {
		t.Fatalf("the answer (%v): %d and %d\n%s", err, asIs, around, out)
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
