package slm

// StandardDefinition returns the usual definition of a metric for any
// process whose snapshots carry the standard fields (incidents do; see
// itil.Snapshot), ready for Define once given a calendar if needed:
//
//   - the clock starts when the subject is running or paused, from
//     opened_at (so a definition added later still counts from the
//     opening);
//   - it pauses while the phase is "paused";
//   - a response timer stops at the first response (responded "true"),
//     any other metric when the phase is "done";
//   - it is canceled when the phase is "canceled";
//   - a timer of any metric but response is reset by a reopening
//     (reopen_count changes): the old cycle is kept and a new one starts.
//
// Targets are chosen by the first that matches (FirstMatch).
func StandardDefinition(name, subjectKind string, typ Type, metric Metric, targets ...Target) Definition {
	d := Definition{
		Name: name, Type: typ, Metric: metric, SubjectKind: subjectKind,
		Targets: targets, Selection: FirstMatch,
		Start:     Condition{Fields: map[string][]string{"phase": {"running", "paused"}}},
		Pause:     &Condition{Fields: map[string][]string{"phase": {"paused"}}},
		Stop:      &Condition{Fields: map[string][]string{"phase": {"done"}}},
		Cancel:    &Condition{Fields: map[string][]string{"phase": {"canceled"}}},
		StartFrom: "opened_at",
	}
	switch metric {
	case Response:
		d.Stop = &Condition{Fields: map[string][]string{"responded": {"true"}}}
		d.Pause = nil
	default:
		d.Reset = &Condition{Changed: []string{"reopen_count"}}
	}
	return d
}
