package lifecycle

import (
	"slices"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
)

// Kind is the storage and journal kind of lifecycle records.
const Kind = "lifecycle_record"

// NumberPrefix starts a lifecycle record's reference, as in SLC0001001.
const NumberPrefix = "SLC"

// Record is one service's way through the lifecycle: its stage, the
// service design package that carries it from design into transition,
// the acceptance criteria it must meet to go live, the changes that
// transition it, and how early life support judges it ready for
// operation. It belongs to a portfolio entry (package strategy).
type Record struct {
	ID      itil.ID `json:"id"`
	Version int64   `json:"version"`
	Number  string  `json:"number"`
	// EntryID is the service's portfolio entry (strategy.Entry).
	EntryID itil.ID `json:"entry_id"`
	Stage   Stage   `json:"stage"`
	// Design is the service design package.
	Design []Section `json:"design"`
	// Acceptance lists the service acceptance criteria.
	Acceptance []Criterion `json:"acceptance,omitempty"`
	// Changes are the changes that transition the service.
	Changes []itil.ID `json:"changes,omitempty"`
	// EarlyLife is early life support's exit criteria, and when it began
	// (the move into transition).
	EarlyLife EarlyLife `json:"early_life"`
	// Overrides are the gates passed by override, with their reasons.
	Overrides []Override `json:"overrides,omitempty"`
	OpenedAt  time.Time  `json:"opened_at"`
	UpdatedAt time.Time  `json:"updated_at"`
}

func (r *Record) clone() *Record {
	out := *r
	out.Design = make([]Section, len(r.Design))
	for i, s := range r.Design {
		s.Evidence = slices.Clone(s.Evidence)
		out.Design[i] = s
	}
	out.Acceptance = slices.Clone(r.Acceptance)
	out.Changes = slices.Clone(r.Changes)
	out.EarlyLife.Priorities = slices.Clone(r.EarlyLife.Priorities)
	out.Overrides = make([]Override, len(r.Overrides))
	for i, o := range r.Overrides {
		o.Failed = slices.Clone(o.Failed)
		out.Overrides[i] = o
	}
	if r.Overrides == nil {
		out.Overrides = nil
	}
	return &out
}

func copyRecord(dst, src *Record) { *dst = *src.clone() }

// The sections of a service design package, as ITIL lists them.
const (
	SectionRequirements            = "requirements"             // business, functional and management requirements
	SectionUsage                   = "usage"                    // how the service is used
	SectionStakeholders            = "stakeholders"             // contacts and stakeholders
	SectionServiceLevels           = "service_levels"           // service-level requirements
	SectionTechnicalDesign         = "technical_design"         // the service's technical design
	SectionSourcing                = "sourcing"                 // what is built, bought or contracted
	SectionProcesses               = "processes"                // new or changed processes
	SectionOrganisationalReadiness = "organisational_readiness" // people and skills
	SectionTransitionPlan          = "transition_plan"          // transition, build and test plans
	SectionOperationalAcceptance   = "operational_acceptance"   // the operational acceptance plan
	SectionAcceptanceCriteria      = "acceptance_criteria"      // the service acceptance criteria
)

// DesignSections lists the sections every design package has, in order.
func DesignSections() []string {
	return []string{SectionRequirements, SectionUsage, SectionStakeholders, SectionServiceLevels, SectionTechnicalDesign,
		SectionSourcing, SectionProcesses, SectionOrganisationalReadiness, SectionTransitionPlan, SectionOperationalAcceptance,
		SectionAcceptanceCriteria}
}

// SectionState is how far a design package section is.
type SectionState string

const (
	SectionOpen       SectionState = "open"
	SectionInProgress SectionState = "in_progress"
	SectionComplete   SectionState = "complete"
)

// Section is one section of the service design package: who owns it,
// how far it is, and the evidence (links to documents, tickets,
// diagrams) that it is done.
type Section struct {
	Name     string       `json:"name"`
	Owner    string       `json:"owner,omitempty"`
	State    SectionState `json:"state"`
	Evidence []string     `json:"evidence,omitempty"`
}

// section returns the design package section name (one of
// DesignSections) of r, adding it, open, to a record stored before the
// section was one.
func (r *Record) section(name string) *Section {
	i := slices.IndexFunc(r.Design, func(sec Section) bool { return sec.Name == name })
	if i < 0 {
		r.Design, i = append(r.Design, Section{Name: name, State: SectionOpen}), len(r.Design)
	}
	return &r.Design[i]
}

// Criterion is one service acceptance criterion, met or not, with the
// evidence.
type Criterion struct {
	Text     string `json:"text"`
	Met      bool   `json:"met"`
	Evidence string `json:"evidence,omitempty"`
}

// EarlyLife is early life support's exit criteria: the service leaves
// transition for operation only after QuietDays days in which no
// incident of the listed priorities (at least one, with quiet days) was
// open on it, and, when SLACompliance is set (in percent, to two
// places), with its SLAs met at least that often since early life
// support began.
type EarlyLife struct {
	QuietDays     int             `json:"quiet_days"`
	Priorities    []itil.Priority `json:"priorities"`
	SLACompliance decimal.Decimal `json:"sla_compliance,omitzero"`
	// Since is when early life support began: the move into transition.
	Since time.Time `json:"since,omitzero"`
}

// DefaultEarlyLife is what a record starts with: 14 quiet days without
// a P1 or P2 incident, and no SLA compliance target.
func DefaultEarlyLife() EarlyLife {
	return EarlyLife{QuietDays: 14, Priorities: []itil.Priority{itil.P1, itil.P2}}
}

// Override is a gate passed although some of its checks failed, with
// who decided it and why.
type Override struct {
	Move   string     `json:"move"`
	Reason string     `json:"reason"`
	By     itil.Actor `json:"by"`
	At     time.Time  `json:"at"`
	Failed []Check    `json:"failed"`
}

// Limits of a record.
const (
	MaxEvidence   = 20
	MaxCriteria   = 50
	MaxChanges    = 64 // what one journal event can name in its Refs
	MaxQuietDays  = 366
	maxLinkLength = 2000
)

// validate checks the record's own fields, each named by its JSON path.
func (r *Record) validate(v *itil.ValidationError) {
	for i, s := range r.Design {
		f := "design[" + strconv.Itoa(i) + "]"
		check.Text(v, f+".owner", s.Owner, false, check.Short)
		switch s.State {
		case SectionOpen, SectionInProgress, SectionComplete:
		default:
			v.Add(f+".state", "must be open, in_progress or complete")
		}
		if len(s.Evidence) > MaxEvidence {
			v.Add(f+".evidence", "lists more than "+strconv.Itoa(MaxEvidence)+" links")
		}
		for j, e := range s.Evidence {
			check.Text(v, f+".evidence["+strconv.Itoa(j)+"]", e, true, maxLinkLength)
		}
	}
	if len(r.Acceptance) > MaxCriteria {
		v.Add("acceptance", "lists more than "+strconv.Itoa(MaxCriteria)+" criteria")
	}
	for i, c := range r.Acceptance {
		f := "acceptance[" + strconv.Itoa(i) + "]"
		check.Text(v, f+".text", c.Text, true, check.Long)
		check.Text(v, f+".evidence", c.Evidence, false, maxLinkLength)
	}
	if len(r.Changes) > MaxChanges {
		v.Add("changes", "lists more than "+strconv.Itoa(MaxChanges)+" changes")
	}
	for i, id := range r.Changes {
		switch {
		case id == itil.NilID:
			v.Add("changes["+strconv.Itoa(i)+"]", "is required")
		case slices.Index(r.Changes, id) < i:
			v.Add("changes["+strconv.Itoa(i)+"]", "repeats "+id.String())
		}
	}
	el := &r.EarlyLife
	if el.QuietDays < 0 || el.QuietDays > MaxQuietDays {
		v.Add("early_life.quiet_days", "must be from 0 to "+strconv.Itoa(MaxQuietDays))
	}
	if el.QuietDays > 0 && len(el.Priorities) == 0 {
		v.Add("early_life.priorities", "must list the priorities the quiet days are without")
	}
	for i, p := range el.Priorities {
		switch {
		case p < itil.P1 || p > itil.P5:
			v.Add("early_life.priorities["+strconv.Itoa(i)+"]", "must be a priority from 1 to 5")
		case slices.Index(el.Priorities, p) < i:
			v.Add("early_life.priorities["+strconv.Itoa(i)+"]", "repeats P"+strconv.Itoa(int(p)))
		}
	}
	if el.SLACompliance.Sign() < 0 || el.SLACompliance.GreaterThan(decimal.NewFromInt(100)) {
		v.Add("early_life.sla_compliance", "must be a percentage from 0 to 100")
	} else if check.Places(el.SLACompliance) > 2 {
		v.Add("early_life.sla_compliance", "has more than 2 decimal places")
	}
}
