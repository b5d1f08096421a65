package main

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
)

// TestReadmeCurl runs the curl lines of the README's service desk
// section against a test server, in order, checking each answers as the
// README says: 201, 200, 200 and 412. $ID is the incident the first
// line opened.
func TestReadmeCurl(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	start := strings.Index(readme, "## A service desk over HTTP")
	block := readme[start:]
	block = block[strings.Index(block, "```sh\n")+6:]
	block = block[:strings.Index(block, "```")]
	var lines []string
	for _, l := range strings.Split(block, "\n") {
		if strings.HasPrefix(l, "curl ") {
			lines = append(lines, l)
		}
	}
	want := []int{201, 200, 200, 412}
	if len(lines) != len(want) {
		t.Fatalf("%d curl lines in the README, the test expects %d", len(lines), len(want))
	}
	base := newTestServer(t)
	id := ""
	for i, line := range lines {
		req := curlRequest(t, strings.ReplaceAll(line, "$ID", id), base)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != want[i] {
			t.Fatalf("README line %d answered %d, want %d: %s", i+1, resp.StatusCode, want[i], line)
		}
		if i == 0 {
			id, _ = body["id"].(string)
		}
	}
}

// curlRequest reads the curl command line l (-s, -X, -H, -d and a URL
// on localhost:8080) as a request to base.
func curlRequest(t *testing.T, l, base string) *http.Request {
	t.Helper()
	args := shellWords(strings.TrimPrefix(l, "curl "))
	method, data, url := "", "", ""
	header := http.Header{}
	for i := 0; i < len(args); i++ {
		switch a := args[i]; a {
		case "-s":
		case "-X":
			i++
			method = args[i]
		case "-H":
			i++
			k, v, _ := strings.Cut(args[i], ":")
			header.Set(k, strings.TrimSpace(v))
		case "-d":
			i++
			data = args[i]
		default:
			url = strings.Replace(a, "localhost:8080", strings.TrimPrefix(base, "http://"), 1)
		}
	}
	if method == "" {
		method = "GET"
		if data != "" {
			method = "POST"
		}
	}
	req, err := http.NewRequest(method, "http://"+url, strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	return req
}

// shellWords splits s as a shell would, for the quoting the README uses
// (single quotes, unquoted words).
func shellWords(s string) []string {
	var out []string
	var cur strings.Builder
	in, quoted := false, false
	for _, r := range s {
		switch {
		case r == '\'':
			quoted, in = !quoted, true
		case r == ' ' && !quoted:
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

// TestReadmeRoles holds the README's table of tokens to the example's:
// each row's tenant and roles are its token's, and every token has a row.
func TestReadmeRoles(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	section := readme[strings.Index(readme, "## A service desk over HTTP"):]
	rows := map[string]bool{}
	for _, line := range strings.Split(section[:strings.Index(section, "```sh")], "\n") {
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 4 || !strings.HasPrefix(strings.TrimSpace(cells[0]), "`") {
			continue
		}
		token := strings.Trim(strings.TrimSpace(cells[0]), "`")
		p, ok := demoTokens[token]
		if !ok {
			t.Errorf("the README lists %s, which is no token", token)
			continue
		}
		rows[token] = true
		if tenant := strings.TrimSpace(cells[1]); tenant != p.Tenant {
			t.Errorf("%s: the README says tenant %s, the token has %s", token, tenant, p.Tenant)
		}
		if roles := strings.TrimSpace(cells[2]); roles != strings.Join(p.Roles, ", ") {
			t.Errorf("%s: the README says roles %s, the token has %v", token, roles, p.Roles)
		}
		for _, r := range p.Roles {
			if _, ok := roles[r]; !ok {
				t.Errorf("%s: role %s is not in the matrix", token, r)
			}
		}
	}
	for token := range demoTokens {
		if !rows[token] {
			t.Errorf("the README's table has no row for %s", token)
		}
	}
}
