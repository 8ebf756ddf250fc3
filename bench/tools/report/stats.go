package main

import (
	"math"
	"slices"
)

// metric names one series of samples: a key in one unit.
type metric struct{ Key, Unit string }

// summary is the samples of one metric over the rounds of a run.
type summary struct {
	N        int
	Median   float64
	Min, Max float64
	ByRound  map[int]float64 // the round's value (the median, if a round measured it more than once)
}

// summarize groups samples by metric.
func summarize(samples []sample) map[metric]*summary {
	all := map[metric][]float64{}
	byRound := map[metric]map[int][]float64{}
	for _, s := range samples {
		m := metric{s.Key, s.Unit}
		all[m] = append(all[m], s.Value)
		if byRound[m] == nil {
			byRound[m] = map[int][]float64{}
		}
		byRound[m][s.Round] = append(byRound[m][s.Round], s.Value)
	}
	out := map[metric]*summary{}
	for m, vs := range all {
		sum := &summary{N: len(vs), Median: median(vs), Min: slices.Min(vs), Max: slices.Max(vs), ByRound: map[int]float64{}}
		for r, rv := range byRound[m] {
			sum.ByRound[r] = median(rv)
		}
		out[m] = sum
	}
	return out
}

// median is the middle value of vs (the mean of the two middle ones for an
// even count); NaN for none.
func median(vs []float64) float64 {
	if len(vs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// roundRatios returns subject/baseline for every round both measured.
func roundRatios(subject, baseline *summary) []float64 {
	var out []float64
	for r, v := range subject.ByRound {
		if b, ok := baseline.ByRound[r]; ok && b != 0 {
			out = append(out, v/b)
		}
	}
	slices.Sort(out)
	return out
}
