package main

import (
	"context"
	"flag"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/itilkit/itil/examples/servicedesk/httpapi"
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
// 127.0.0.1, on the demo records: sign in, open an incident from the
// queue, put it on hold and see its SLA paused, resume and resolve it
// and see the SLA met; then visit every other page (problems, changes,
// the calendar, CIs and an impact graph, lifecycles, KPIs). Screenshots
// of each page are kept in a temporary directory and its path printed.
// With $ITIL_AXE naming axe-core's axe.min.js (.ci/run fetches it), each
// page is also checked for accessibility (labels, contrast, landmarks,
// keyboard use) and any violation fails the test. It skips when no
// browser is installed.
func TestBrowser(t *testing.T) {
	browser := chromium()
	if browser == "" {
		if os.Getenv("ITIL_AXE") != "" { // CI, which installed one
			t.Fatal("ITIL_AXE is set, and no Chromium or Chrome is: the browser test cannot run")
		}
		t.Skip("no Chromium or Chrome: set CHROMIUM, or install Debian's chromium")
	}
	var axe string
	if p := os.Getenv("ITIL_AXE"); p != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		axe = string(b)
	} else {
		t.Log("ITIL_AXE is not set: the pages are not checked for accessibility")
	}
	srv := newServer(memory.New(), nil, httpapi.StaticTokens(demoTokens), roles)
	if err := srv.seedDemo(t.Context()); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.routes())
	defer ts.Close()
	base := ts.URL

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.Headless,
		chromedp.WindowSize(1280, 900))
	actx, cancel := chromedp.NewExecAllocator(t.Context(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 120*time.Second)
	defer cancel()
	// Kept after the test (t.TempDir would remove it), for a person to
	// look at.
	dir, err := os.MkdirTemp("", "servicedesk-browser-")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots: %s", dir) // before the run, so that a failed one shows where its pages are
	// check screenshots the page as name.png and, with axe, checks it.
	check := func(name string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			var shot []byte
			if err := chromedp.FullScreenshot(&shot, 100).Do(ctx); err != nil { // 100: PNG
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, name+".png"), shot, 0o644); err != nil {
				return err
			}
			if axe == "" {
				return nil
			}
			var violations []struct {
				ID, Impact, Help string
				Nodes            []struct {
					Target []string `json:"target"`
				}
			}
			err := chromedp.Evaluate(axe+";axe.run(document, {resultTypes: ['violations']}).then(r => r.violations)", &violations,
				func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }).Do(ctx)
			if err != nil {
				return err
			}
			for _, v := range violations {
				var where []string
				for _, n := range v.Nodes {
					where = append(where, strings.Join(n.Target, " "))
				}
				t.Errorf("%s: %s (%s, %s) at %s", name, v.Help, v.ID, v.Impact, strings.Join(where, "; "))
			}
			return nil
		})
	}
	var sla, state string
	text := func(sel string, into *string, want string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			if err := chromedp.Text(sel, into, chromedp.ByQuery).Do(ctx); err != nil {
				return err
			}
			if !strings.Contains(*into, want) {
				t.Errorf("%s reads %q, want %q", sel, *into, want)
			}
			return nil
		})
	}
	err = chromedp.Run(ctx,
		chromedp.Navigate(base+"/console/incidents"),
		chromedp.WaitVisible("#token", chromedp.ByID),
		check("login"),
		chromedp.SendKeys("#token", "agent-token", chromedp.ByID),
		chromedp.Submit("#token", chromedp.ByID),
		chromedp.WaitVisible("table", chromedp.ByQuery),
		check("incidents"),
		chromedp.Click(`td a[href^="/console/incidents/"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#state", chromedp.ByID),
		check("incident"),
		chromedp.SendKeys("#comment", "Which client do you use?", chromedp.ByID),
		// Each form posts and the page comes back: wait for what the
		// command changed, not for an element the old page had too.
		chromedp.Click(`form[action$="/hold"] button`, chromedp.ByQuery),
		chromedp.WaitVisible(`#state[data-state="on_hold"]`, chromedp.ByQuery),
		text("#sla", &sla, "paused"),
		chromedp.Click(`form[action$="/resume"] button`, chromedp.ByQuery),
		chromedp.WaitVisible(`#state[data-state="in_progress"]`, chromedp.ByQuery),
		chromedp.SendKeys("#notes", "Restarted the relay", chromedp.ByID),
		chromedp.Click(`form[action$="/resolve"] button`, chromedp.ByQuery),
		chromedp.WaitVisible(`#state[data-state="resolved"]`, chromedp.ByQuery),
		text("#sla", &sla, "Resolve in 8 hours: met"),
		check("incident-resolved"),
		chromedp.Navigate(base+"/console/problems"),
		chromedp.WaitVisible("table", chromedp.ByQuery),
		check("problems"),
		chromedp.Click(`td a[href^="/console/problems/"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#known-error", chromedp.ByID),
		text("#incidents", &state, "Mail stuck in the outbox"),
		text("#known-error", &state, "Mail stays in the outbox"),
		check("problem"),
		chromedp.Navigate(base+"/console/changes"),
		chromedp.WaitVisible("table", chromedp.ByQuery),
		check("changes"),
		chromedp.Click(`td a[href^="/console/changes/"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#approvals", chromedp.ByID),
		text("#state", &state, "assess"),
		check("change"),
		chromedp.Navigate(base+"/console/calendar"),
		chromedp.WaitVisible("#calendar", chromedp.ByID),
		text("#calendar", &state, "Patch mx1 and mx2"),
		check("calendar"),
		chromedp.Navigate(base+"/console/cis"),
		chromedp.WaitVisible("table", chromedp.ByQuery),
		check("cis"),
		chromedp.Click(`//a[text()="mx1"]`, chromedp.BySearch),
		chromedp.WaitVisible("#impact svg", chromedp.ByQuery),
		text("#impact", &state, "mail-relay"),
		check("ci"),
		chromedp.Navigate(base+"/console/lifecycles"),
		chromedp.WaitVisible("svg", chromedp.ByQuery),
		check("lifecycles"),
		chromedp.Navigate(base+"/console/kpis"),
		chromedp.WaitVisible("#kpis", chromedp.ByID),
		text("#kpis", &state, "time_to_resolve"),
		check("kpis"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if *readmeShot != "" {
		shot, err := os.ReadFile(filepath.Join(dir, "incident-resolved.png"))
		if err == nil {
			err = os.WriteFile(*readmeShot, shot, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// readmeShot names where TestBrowser copies its screenshot of the
// resolved incident's page: the README's is made with
// go test ./examples/servicedesk -run TestBrowser -readme-shot $PWD/docs/console.png
var readmeShot = flag.String("readme-shot", "", "copy TestBrowser's screenshot of an incident's page to this file")
