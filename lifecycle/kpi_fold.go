package lifecycle

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/internal/jsonscan"
)

// Keeping the KPI facts current costs one fold per incident event, and
// the issue holds that to 5 % of the command that journaled it. Decoding
// the payload with encoding/json and applying it with pipeline.Apply took
// about three times the command (BenchmarkKPIApply), so the fold reads
// the payload with a jsonscan.Cursor, in one pass: the fields it
// counts, by name, and nothing else. It applies pipeline.Apply's rule (the entity as created, or the
// new values of the fields changed; nil once deleted), which
// TestFoldIncidentIsApply checks against pipeline.Apply.

var errPayload = errors.New("incident payload: not the JSON of an itil.Payload")

// foldIncident folds the incident event with payload pl into v (the
// incident's view before it; nil when the facts do not hold the
// incident). It returns the view after (v itself, changed in place, or a
// new view the event created; nil once deleted) and whether the event
// created, deleted or changed a field the view has. On error v is left
// as it was. The fields are set in v itself, a copy on the stack kept to
// restore it on error: copying the view in and out of a scratch view on
// the heap cost write barriers on every event while the collector ran.
func (k *kpiFacts) foldIncident(v *incidentView, pl []byte) (after *incidentView, changed bool, err error) {
	after = v
	var old incidentView
	if v != nil {
		old = *v
	}
	c := jsonscan.NewCursor(pl)
	ok := c.Members(func(key []byte) bool {
		switch string(key) {
		case "created":
			n := &incidentView{}
			if !c.Members(func(name []byte) bool {
				_, err = k.set(n, name, c.Value())
				return err == nil
			}) && err == nil {
				err = errPayload
			}
			after, changed = n, true
		case "deleted":
			if string(c.Value()) == "true" {
				after, changed = nil, true
			}
		case "fields":
			if v == nil {
				return true // an event on an incident the facts do not hold
			}
			if !c.Elements(func() bool {
				var name, to []byte
				if !c.Members(func(m []byte) bool {
					switch string(m) {
					case "field":
						name, _ = c.Text()
					case "to":
						to = c.Value()
					}
					return true
				}) || name == nil || to == nil {
					err = errPayload
					return false
				}
				var known bool
				known, err = k.set(v, name, to)
				changed = changed || known
				return err == nil
			}) && err == nil {
				err = errPayload
			}
		}
		return err == nil
	})
	if (!ok || !c.End()) && err == nil {
		err = errPayload
	}
	if err != nil {
		if v != nil {
			*v = old
		}
		return v, false, err
	}
	return after, changed, nil
}

// set sets the field the JSON name key names from its raw value, and
// reports whether the view has it.
func (k *kpiFacts) set(v *incidentView, key, raw []byte) (bool, error) {
	var err error
	switch string(key) {
	case "state":
		var s string
		s, err = jsonString(raw)
		v.State = incident.State(s)
	case "priority":
		var n int
		n, err = jsonInt(raw)
		v.Priority = itil.Priority(n)
	case "assignment_group":
		v.group, err = k.group(raw)
		v.AssignmentGroup = k.groups[v.group]
	case "service_id":
		v.ServiceID, err = jsonID(raw)
		v.service = k.internService(v.ServiceID)
	case "ci_id":
		v.CIID, err = jsonID(raw)
		v.ci = 0 // interned when the incident counts under it: see incidentDims
	case "reassignment_count":
		v.ReassignmentCount, err = jsonInt(raw)
	case "reopen_count":
		v.ReopenCount, err = jsonInt(raw)
	case "resolution_code":
		v.ResolutionCode, err = jsonString(raw)
	case "opened_at":
		v.OpenedAt, err = jsonTime(raw)
	case "first_responded_at":
		v.FirstRespondedAt, err = jsonTime(raw)
	default:
		return false, nil
	}
	return true, err
}

// jsonString reads a JSON string (null: ""). Strings without escapes,
// the usual ones, are taken as they are written.
func jsonString(raw []byte) (string, error) {
	if string(raw) == "null" {
		return "", nil
	}
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' && bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), nil
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}

func jsonInt(raw []byte) (int, error) {
	if string(raw) == "null" {
		return 0, nil
	}
	return strconv.Atoi(string(raw))
}

func jsonID(raw []byte) (itil.ID, error) {
	s, err := jsonString(raw)
	if err != nil || s == "" {
		return itil.NilID, err
	}
	return uuid.Parse(s)
}

func jsonTime(raw []byte) (time.Time, error) {
	s, err := jsonString(raw)
	if err != nil || s == "" {
		return time.Time{}, err
	}
	return time.Parse(time.RFC3339Nano, s)
}

// group reads a group's name and interns it. Groups are few and events
// name them over and over: a name seen before is found without making a
// string of it.
func (k *kpiFacts) group(raw []byte) (int32, error) {
	if len(raw) >= 2 && raw[0] == '"' && bytes.IndexByte(raw, '\\') < 0 {
		if i, ok := k.groupIx[string(raw[1:len(raw)-1])]; ok {
			return i, nil
		}
	}
	s, err := jsonString(raw)
	return k.internGroup(s), err
}
