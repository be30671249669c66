package soak

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func TestMeasure(t *testing.T) {
	s := time.Second
	ms := time.Millisecond
	d := func(at, dur time.Duration, uplink int, healed bool) Dial {
		dl := Dial{At: at, Duration: dur, Uplink: uplink, Healed: healed}
		if uplink < 0 {
			dl.Err = "timeout"
		}
		return dl
	}
	dials := []Dial{
		d(0, 160*ms, 1, false), // fault at 0: the first dial waits for the attempt delay
		d(250*ms, 61*ms, 1, false),
		d(4*s, 600*ms, 1, false), // slow, once the fault was known
		d(5*s, 61*ms, 1, false),
		d(5900*ms, 162*ms, 0, false), // the heal came under it: not the fault's
		d(6*s, 61*ms, 1, true),       // healed at 6 s; within HealSettle: not the first healed dial
		d(6250*ms, 21*ms, 0, true),
		d(6500*ms, 61*ms, 1, true), // not yet for good
		d(7*s, 21*ms, 0, true),
		d(7250*ms, 21*ms, 0, true),
		d(7900*ms, 200*ms, -1, true), // ran into the next phase: not counted
	}
	pr := PhaseResult{Start: 0, Healed: 6 * s, End: 8 * s, BestFault: 1, BestHealed: 0}
	pr.measure(dials, 0, 60*ms)
	want := PhaseResult{Start: 0, Healed: 6 * s, End: 8 * s, BestFault: 1, BestHealed: 0,
		Dials: 10, Failed: 0, ToBest: 0, Back: time.Second, FirstHealed: 0, Slow: 1, Slowest: 600 * ms, Bound: 410 * ms}
	if flips := (PhaseResult{Healed: 9 * s, End: 9 * s}); true {
		flips.measure([]Dial{d(0, ms, 0, false), d(s, ms, 1, false), d(2*s, ms, -1, false), d(3*s, ms, 1, false), d(4*s, ms, 0, false)}, 0, ms)
		if flips.Flips != 2 {
			t.Errorf("Flips = %d, want 2 (0→1, 1→0; a failed dial is none)", flips.Flips)
		}
	}
	if pr != want {
		t.Errorf("measure:\n got %+v\nwant %+v", pr, want)
	}
	never := PhaseResult{Start: 0, Healed: 6 * s, End: 9 * s, BestFault: 0, BestHealed: 1}
	never.measure(dials[:10], 0, 20*ms)
	if never.ToBest != -1 || never.Back != -1 || never.String() == "" {
		t.Errorf("a run never on the best path: %+v", never)
	}
}

func TestWriteTimeline(t *testing.T) {
	r := &Result{Method: "getapr", Every: DefaultEvery, Start: time.Unix(0, 0).UTC(),
		Phases: []PhaseResult{{Name: "cut", Start: time.Second, Healed: 2 * time.Second, End: 3 * time.Second, Back: -1, BestFault: 1}},
		Dials:  []Dial{{At: 1500 * time.Millisecond, Duration: 61 * time.Millisecond, Uplink: 1}}}
	var b bytes.Buffer
	if err := WriteTimeline(&b, r); err != nil {
		t.Fatal(err)
	}
	var tl Timeline
	if err := json.Unmarshal(b.Bytes(), &tl); err != nil {
		t.Fatal(err)
	}
	run := tl.Runs[0]
	if run.Method != "getapr" || run.EveryMS != 250 || len(run.Phases) != 1 || run.Phases[0].BackS != -1 ||
		run.Phases[0].HealedS != 2 || len(run.Dials) != 1 || run.Dials[0].Phase != "cut" || run.Dials[0].MS != 61 {
		t.Errorf("timeline %s", b.String())
	}
	if err := WriteTimeline(&b, nil); err == nil {
		t.Error("no error for a nil result")
	}
}
