package strategy

import (
	"context"
	"fmt"
	"iter"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/storage"
)

// Kinds, commands and events of demand records.
const (
	KindPattern = "strategy_pattern"
	KindProfile = "strategy_profile"

	CommandDefinePattern = "define_pattern"
	CommandDefineProfile = "define_profile"

	EventPatternDefined = "strategy.pattern_defined"
	EventProfileDefined = "strategy.profile_defined"
)

// MaxRoles bounds a user profile's roles and patterns (each).
const MaxRoles = 50

var patterns = storage.NewCollection(storage.Schema[PatternOfBusinessActivity]{
	Kind: KindPattern, ID: func(p *PatternOfBusinessActivity) itil.ID { return p.ID },
	Version: func(p *PatternOfBusinessActivity) *int64 { return &p.Version },
	SortKey: func(p *PatternOfBusinessActivity) string { return p.Name },
	Terms: func(p *PatternOfBusinessActivity, dst []string) []string {
		return append(dst, storage.Term("entry", p.EntryID.String()))
	},
	Clone: func(dst, src *PatternOfBusinessActivity) { *dst = *src },
})

var profiles = storage.NewCollection(storage.Schema[UserProfile]{
	Kind: KindProfile, ID: func(p *UserProfile) itil.ID { return p.ID }, Version: func(p *UserProfile) *int64 { return &p.Version },
	SortKey: func(p *UserProfile) string { return p.Name },
	Terms: func(p *UserProfile, dst []string) []string {
		start := len(dst)
		for _, id := range p.Patterns {
			dst = append(dst, storage.Term("pattern", id.String()))
		}
		slices.Sort(dst[start:])
		return slices.Compact(dst)
	},
	Clone: func(dst, src *UserProfile) {
		*dst = *src
		dst.Roles, dst.Patterns = slices.Clone(src.Roles), slices.Clone(src.Patterns)
	},
})

var (
	patternSpec = specOf(patterns, func(p *PatternOfBusinessActivity, now time.Time) { p.UpdatedAt = now },
		func(dst, src *PatternOfBusinessActivity) { *dst = *src })
	profileSpec = specOf(profiles, func(p *UserProfile, now time.Time) { p.UpdatedAt = now }, func(dst, src *UserProfile) {
		*dst = *src
		dst.Roles, dst.Patterns = slices.Clone(src.Roles), slices.Clone(src.Patterns)
	})
)

// DefinePattern records a pattern of business activity of the service
// p.EntryID (its ID and version are set here). Bad fields give a
// *itil.ValidationError; an unknown entry an error wrapping
// itil.ErrNotFound.
func (s *Service) DefinePattern(ctx context.Context, actor itil.Actor, p PatternOfBusinessActivity) (*PatternOfBusinessActivity, error) {
	var v itil.ValidationError
	actor.Validate("actor", &v)
	check.Text(&v, "name", p.Name, true, check.Short)
	check.Text(&v, "classification", p.Classification, true, check.Short)
	check.Text(&v, "frequency", p.Frequency, true, check.Short)
	check.Text(&v, "location", p.Location, false, check.Short)
	check.Text(&v, "requirements", p.Requirements, false, check.Long)
	if math.IsNaN(p.Volume) || math.IsInf(p.Volume, 0) || p.Volume < 0 {
		v.Add("volume", "must be a finite number, not negative")
	}
	if p.Duration < 0 {
		v.Add("duration", "must not be negative")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	p.ID, p.Version = itil.NewID(), 0
	r := sibling(s, patternSpec)
	return r.Create(ctx, actor, CommandDefinePattern, &p, func(c *pipeline.Cmd[PatternOfBusinessActivity], p *PatternOfBusinessActivity) (event, error) {
		if _, err := entries.Get(c.Ctx, c.Tx, p.EntryID); err != nil {
			return event{}, fmt.Errorf("entry_id: %w", err)
		}
		return event{Type: EventPatternDefined, Summary: "pattern " + strconv.Quote(p.Name), Refs: []itil.ID{p.EntryID}}, nil
	})
}

// Patterns returns the service's patterns of business activity, by name.
func (s *Service) Patterns(ctx context.Context, entryID itil.ID) iter.Seq2[*PatternOfBusinessActivity, error] {
	return sibling(s, patternSpec).List(ctx,
		pipeline.Query[PatternOfBusinessActivity]{Terms: []string{storage.Term("entry", entryID.String())}})
}

// DefineProfile records a user profile: roles, and the patterns of
// activity they take part in, which must exist.
func (s *Service) DefineProfile(ctx context.Context, actor itil.Actor, name string, roles []string, patternIDs []itil.ID) (*UserProfile, error) {
	var v itil.ValidationError
	actor.Validate("actor", &v)
	check.Text(&v, "name", name, true, check.Short)
	if len(roles) == 0 || len(roles) > MaxRoles {
		v.Add("roles", "must list 1 to "+strconv.Itoa(MaxRoles)+" roles")
	}
	for i, r := range roles {
		check.Text(&v, "roles["+strconv.Itoa(i)+"]", r, true, check.Short)
	}
	if len(patternIDs) > MaxRoles {
		v.Add("patterns", "list more than "+strconv.Itoa(MaxRoles))
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	p := &UserProfile{ID: itil.NewID(), Name: name, Roles: slices.Clone(roles), Patterns: slices.Clone(patternIDs)}
	r := sibling(s, profileSpec)
	return r.Create(ctx, actor, CommandDefineProfile, p, func(c *pipeline.Cmd[UserProfile], p *UserProfile) (event, error) {
		for i, id := range p.Patterns {
			if _, err := patterns.Get(c.Ctx, c.Tx, id); err != nil {
				return event{}, itil.Invalid("patterns["+strconv.Itoa(i)+"]", "is not a pattern of business activity")
			}
		}
		return event{Type: EventProfileDefined, Summary: "user profile " + strconv.Quote(p.Name)}, nil
	})
}

// ProfilesOf returns the user profiles taking part in the pattern id.
func (s *Service) ProfilesOf(ctx context.Context, patternID itil.ID) iter.Seq2[*UserProfile, error] {
	return sibling(s, profileSpec).List(ctx,
		pipeline.Query[UserProfile]{Terms: []string{storage.Term("pattern", patternID.String())}})
}
