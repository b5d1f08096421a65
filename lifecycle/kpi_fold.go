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
// the payload with jsonscan: the fields it counts, by name, and nothing
// else. It applies pipeline.Apply's rule (the entity as created, or the
// new values of the fields changed; nil once deleted), which
// TestFoldIncidentIsApply checks against pipeline.Apply.

var errPayload = errors.New("incident payload: not the JSON of an itil.Payload")

// foldIncident returns the incident view as the event with payload pl
// leaves before, and whether the event created, deleted or changed a
// field the view has.
func foldIncident(before *incidentView, pl []byte) (after *incidentView, changed bool, err error) {
	after = before
	ok := jsonscan.Members(pl, func(key, val []byte) bool {
		switch string(key) {
		case "created":
			v := &incidentView{}
			if !jsonscan.Members(val, func(k, x []byte) bool {
				_, err = v.set(k, x)
				return err == nil
			}) && err == nil {
				err = errPayload
			}
			after, changed = v, true
		case "deleted":
			if string(val) == "true" {
				after, changed = nil, true
			}
		case "fields":
			if before == nil {
				return true // an event on an incident the facts do not hold
			}
			var v *incidentView
			if !jsonscan.Elements(val, func(el []byte) bool {
				var name, to []byte
				jsonscan.Members(el, func(k, x []byte) bool {
					switch string(k) {
					case "field":
						name = x
					case "to":
						to = x
					}
					return true
				})
				if len(name) < 2 || to == nil {
					err = errPayload
					return false
				}
				if v == nil {
					c := *before
					v = &c
				}
				var known bool
				known, err = v.set(name[1:len(name)-1], to)
				changed = changed || known
				return err == nil
			}) && err == nil {
				err = errPayload
			}
			if changed {
				after = v
			}
		}
		return err == nil
	})
	if !ok && err == nil {
		err = errPayload
	}
	if err != nil {
		return before, false, err
	}
	return after, changed, nil
}

// set sets the field the JSON name key names from its raw value, and
// reports whether the view has it.
func (v *incidentView) set(key, raw []byte) (bool, error) {
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
		v.AssignmentGroup, err = jsonString(raw)
	case "service_id":
		v.ServiceID, err = jsonID(raw)
	case "ci_id":
		v.CIID, err = jsonID(raw)
	case "reassignment_count":
		v.ReassignmentCount, err = jsonInt(raw)
	case "reopen_count":
		v.ReopenCount, err = jsonInt(raw)
	case "problem_id":
		v.ProblemID, err = jsonID(raw)
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
