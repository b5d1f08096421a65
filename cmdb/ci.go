package cmdb

import (
	"maps"
	"slices"
	"time"

	"github.com/itilkit/itil"
)

// Criticality is a CI's business criticality, 1 (most critical) to 4.
type Criticality int

// Criticalities.
const (
	MissionCritical Criticality = 1
	High            Criticality = 2
	Medium          Criticality = 3
	Low             Criticality = 4
)

// CI is a configuration item.
type CI struct {
	ID      itil.ID `json:"id"`
	Version int64   `json:"version"`
	Class   string  `json:"class"`
	Name    string  `json:"name"`
	// Attributes holds the class's attribute values in canonical form.
	Attributes   map[string]string `json:"attributes,omitempty"`
	State        State             `json:"state"`
	Criticality  Criticality       `json:"criticality,omitempty"`
	Owner        string            `json:"owner,omitempty"`
	SupportGroup string            `json:"support_group,omitempty"`
	LocationID   itil.ID           `json:"location_id,omitzero"`
	// Source is the data source that last wrote the CI (such as
	// "discovery" or "manual"), and LastDiscovered when discovery last
	// saw it.
	Source         string    `json:"source,omitempty"`
	LastDiscovered time.Time `json:"last_discovered,omitzero"`
	// AttrSources records which source wrote each attribute, for
	// reconciliation.
	AttrSources map[string]string `json:"attr_sources,omitempty"`
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
}

func cloneCI(dst, src *CI) {
	*dst = *src
	dst.Attributes = maps.Clone(src.Attributes)
	dst.AttrSources = maps.Clone(src.AttrSources)
}

func (c *CI) clone() *CI {
	out := new(CI)
	cloneCI(out, c)
	return out
}

// touchCI records the time of a write.
func touchCI(c *CI, now time.Time) { c.UpdatedAt = now }

// normalize stores empty maps as none, as JSON gives them back, so that a
// CI survives a round trip unchanged and an emptied map is no change.
func normalize(c *CI) {
	if len(c.Attributes) == 0 {
		c.Attributes = nil
	}
	if len(c.AttrSources) == 0 {
		c.AttrSources = nil
	}
}

// NewCI is the input of CreateCI.
type NewCI struct {
	Class        string
	Name         string
	Attributes   map[string]string
	State        State // default Planned
	Criticality  Criticality
	Owner        string
	SupportGroup string
	LocationID   itil.ID
	Source       string // default SourceManual
}

// Patch is the input of UpdateCI: nil fields stay as they are. In
// Attributes, a value sets the attribute and an empty string removes it.
type Patch struct {
	Name         *string
	Attributes   map[string]string
	Criticality  *Criticality
	Owner        *string
	SupportGroup *string
	LocationID   *itil.ID
}

// Relationship is a typed, directed link from a parent CI to a child CI.
type Relationship struct {
	ID        itil.ID   `json:"id"`
	Version   int64     `json:"version"`
	Type      string    `json:"type"`
	Parent    itil.ID   `json:"parent"`
	Child     itil.ID   `json:"child"`
	Source    string    `json:"source,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// cloneBaseline deep-copies a baseline.
func cloneBaseline(b *Baseline) *Baseline {
	out := *b
	out.Scope = Scope{IDs: slices.Clone(b.Scope.IDs), Classes: slices.Clone(b.Scope.Classes)}
	out.CIs = make([]CI, len(b.CIs))
	for i := range b.CIs {
		cloneCI(&out.CIs[i], &b.CIs[i])
	}
	out.Relationships = slices.Clone(b.Relationships)
	return &out
}
