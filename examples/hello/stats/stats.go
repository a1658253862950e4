// Package stats computes simple summary statistics of float64 samples.
//
// No function modifies its input slice.
package stats

import (
	"errors"
	"math"
	"sort"
)

var (
	// ErrEmpty is returned when a statistic is requested for no samples.
	ErrEmpty = errors.New("stats: empty sample")
	// ErrPercentile is returned for a percentile outside [0, 100] or NaN.
	ErrPercentile = errors.New("stats: percentile out of range [0, 100]")
)

// Mean returns the arithmetic mean of xs.
func Mean(xs []float64) (float64, error) {
	if len(xs) == 0 {
		return 0, ErrEmpty
	}
	// Neumaier (improved Kahan) summation keeps the error small for long or
	// badly scaled inputs such as {1e16, 1, -1e16, 1}.
	var sum, c float64
	for _, x := range xs {
		t := sum + x
		if math.Abs(sum) >= math.Abs(x) {
			c += (sum - t) + x
		} else {
			c += (x - t) + sum
		}
		sum = t
	}
	if !math.IsInf(sum, 0) && !math.IsNaN(sum) {
		sum += c // the compensation is NaN once an infinity was added
	}
	return sum / float64(len(xs)), nil
}

// Median returns the middle value of xs (the mean of the two middle values
// when len(xs) is even).
func Median(xs []float64) (float64, error) {
	return Percentile(xs, 50)
}

// Percentile returns the p-th percentile of xs (0 <= p <= 100) using linear
// interpolation between closest ranks, as numpy's default method does.
func Percentile(xs []float64, p float64) (float64, error) {
	if len(xs) == 0 {
		return 0, ErrEmpty
	}
	if math.IsNaN(p) || p < 0 || p > 100 {
		return 0, ErrPercentile
	}
	sorted := make([]float64, len(xs))
	copy(sorted, xs)
	sort.Float64s(sorted)
	return percentileSorted(sorted, p), nil
}

func percentileSorted(sorted []float64, p float64) float64 {
	rank := p / 100 * float64(len(sorted)-1)
	lo := int(math.Floor(rank))
	hi := int(math.Ceil(rank))
	if lo == hi || sorted[lo] == sorted[hi] { // equal ends: also avoids Inf-Inf
		return sorted[lo]
	}
	frac := rank - float64(lo)
	return sorted[lo] + frac*(sorted[hi]-sorted[lo])
}

// StdDev returns the population standard deviation of xs.
func StdDev(xs []float64) (float64, error) {
	m, err := Mean(xs)
	if err != nil {
		return 0, err
	}
	var ss float64
	for _, x := range xs {
		d := x - m
		ss += d * d
	}
	return math.Sqrt(ss / float64(len(xs))), nil
}
