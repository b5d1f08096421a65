package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/storage/memory"
)

// chromium finds the browser the browser test drives: $CHROMIUM, or
// Chromium or Chrome on the PATH (.ci/run installs Debian's chromium).
func chromium() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestBrowser drives the console in a real (headless) Chromium on
// 127.0.0.1: sign in, open the incident from the queue, put it on hold
// and see its SLA paused, resume and resolve it and see the SLA met. A
// screenshot of the last page is kept in a temporary directory and its
// path printed. It skips when no browser is installed.
func TestBrowser(t *testing.T) {
	browser := chromium()
	if browser == "" {
		t.Skip("no Chromium or Chrome: set CHROMIUM, or install Debian's chromium")
	}
	base := startServer(t, memory.New())
	admin, agent := client{t, base, "admin-token"}, client{t, base, "agent-token"}
	def, _ := json.Marshal(slm.StandardDefinition("Resolve in 8 hours", incident.Kind, slm.SLA, slm.Resolution,
		slm.Target{Name: "8h", Duration: 8 * time.Hour}))
	admin.do("POST", "/sla/definitions", "", string(def))
	resp, _ := agent.do("POST", "/incidents", "", `{"title":"Mail down","caller":{"id":"casey"},"channel":"phone","impact":2,"urgency":2}`)
	loc := resp.Header.Get("Location")
	agent.do("POST", loc+"/assign", resp.Header.Get("ETag"), `{"group":"messaging","assignee":"mia"}`)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.Headless,
		chromedp.WindowSize(1280, 900))
	actx, cancel := chromedp.NewExecAllocator(t.Context(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var sla, state string
	var shot []byte
	slaIs := func(want string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			if err := chromedp.Text("#sla", &sla, chromedp.ByQuery).Do(ctx); err != nil {
				return err
			}
			if !strings.Contains(sla, want) {
				t.Errorf("the SLA reads %q, want %q", sla, want)
			}
			return nil
		})
	}
	err := chromedp.Run(ctx,
		chromedp.Navigate(base+"/console/incidents"),
		chromedp.WaitVisible("#token", chromedp.ByID),
		chromedp.SendKeys("#token", "agent-token", chromedp.ByID),
		chromedp.Submit("#token", chromedp.ByID),
		chromedp.WaitVisible("table", chromedp.ByQuery),
		chromedp.Click(`a[href^="/console/incidents/"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#state", chromedp.ByID),
		chromedp.SendKeys("#comment", "Which client do you use?", chromedp.ByID),
		// Each form posts and the page comes back: wait for what the
		// command changed, not for an element the old page had too.
		chromedp.Click(`form[action$="/hold"] button`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-sla-state="paused"]`, chromedp.ByQuery),
		chromedp.Text("#state", &state, chromedp.ByID),
		slaIs("paused"),
		chromedp.Click(`form[action$="/resume"] button`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-sla-state="in_progress"]`, chromedp.ByQuery),
		chromedp.Click(`form[action$="/resolve"] button`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-sla-state="completed"]`, chromedp.ByQuery),
		slaIs("met"),
		chromedp.FullScreenshot(&shot, 100), // 100: PNG,
	)
	if err != nil {
		t.Fatal(err)
	}
	if state != "on_hold" {
		t.Errorf("after the hold, the state reads %q", state)
	}
	// Kept after the test (t.TempDir would remove it), for a person to
	// look at.
	dir, err := os.MkdirTemp("", "servicedesk-browser-")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "console.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}
