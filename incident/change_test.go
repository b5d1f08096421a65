package incident

import (
	"bytes"
	"encoding/json"
	"testing"

	"pgregory.net/rapid"

	"github.com/itilkit/itil"
)

// The hand-written encoder must agree with encoding/json byte for byte.
func TestChangeJSONMatchesEncodingJSON(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		text := rapid.OneOf(rapid.String(), rapid.StringOf(rapid.RuneFrom([]rune{0, 0x1f, 0x7f, '"', '\\', '<', '&', 0x2028, 0x2029, 0xfffd, 0x10ffff})),
			rapid.Custom(func(t *rapid.T) string { return string(rapid.SliceOf(rapid.Byte()).Draw(t, "bytes")) }))
		c := Change{
			Summary:    text.Draw(t, "summary"),
			From:       State(rapid.SampledFrom([]string{"", "new", "on_hold"}).Draw(t, "from")),
			State:      State(text.Draw(t, "state")),
			Priority:   itil.Priority(rapid.IntRange(-1, 6).Draw(t, "priority")),
			Reason:     text.Draw(t, "reason"),
			HoldReason: HoldReason(rapid.SampledFrom([]string{"", "awaiting_caller"}).Draw(t, "hold")),
			Group:      text.Draw(t, "group"),
			Assignee:   text.Draw(t, "assignee"),
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(c); err != nil {
			t.Fatal(err)
		}
		got := c.appendJSON(nil)
		if !bytes.Equal(got, bytes.TrimSuffix(want.Bytes(), []byte("\n"))) {
			t.Fatalf("got  %s\nwant %s", got, want.Bytes())
		}
	})
}
