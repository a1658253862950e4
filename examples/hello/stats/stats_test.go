package stats

import (
	"errors"
	"math"
	"testing"
)

const eps = 1e-9

func almostEqual(a, b float64) bool {
	if math.IsInf(a, 0) || math.IsInf(b, 0) {
		return a == b
	}
	return math.Abs(a-b) <= eps*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

func TestMean(t *testing.T) {
	tests := []struct {
		name    string
		xs      []float64
		want    float64
		wantErr error
	}{
		{"nil", nil, 0, ErrEmpty},
		{"empty", []float64{}, 0, ErrEmpty},
		{"single", []float64{7}, 7, nil},
		{"ints", []float64{1, 2, 3, 4}, 2.5, nil},
		{"negatives", []float64{-1, -2, 3}, 0, nil},
		{"fractions", []float64{0.1, 0.2, 0.3}, 0.2, nil},
		{"large and small", []float64{1e16, 1, -1e16, 1}, 0.5, nil},
		{"inf", []float64{1, math.Inf(1)}, math.Inf(1), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Mean(tt.xs)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Mean(%v) error = %v, want %v", tt.xs, err, tt.wantErr)
			}
			if !almostEqual(got, tt.want) {
				t.Errorf("Mean(%v) = %v, want %v", tt.xs, got, tt.want)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		name    string
		xs      []float64
		want    float64
		wantErr error
	}{
		{"empty", nil, 0, ErrEmpty},
		{"single", []float64{3}, 3, nil},
		{"odd unsorted", []float64{5, 1, 3}, 3, nil},
		{"even", []float64{4, 1, 3, 2}, 2.5, nil},
		{"duplicates", []float64{2, 2, 2, 9}, 2, nil},
		{"negative", []float64{-5, -1, -3}, -3, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Median(tt.xs)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Median(%v) error = %v, want %v", tt.xs, err, tt.wantErr)
			}
			if !almostEqual(got, tt.want) {
				t.Errorf("Median(%v) = %v, want %v", tt.xs, got, tt.want)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	xs := []float64{15, 20, 35, 40, 50} // deliberately sorted; see TestNoMutation
	tests := []struct {
		name    string
		xs      []float64
		p       float64
		want    float64
		wantErr error
	}{
		{"p0 is min", xs, 0, 15, nil},
		{"p100 is max", xs, 100, 50, nil},
		{"p50", xs, 50, 35, nil},
		{"p25 exact rank", xs, 25, 20, nil},
		{"p40 interpolated", xs, 40, 29, nil},
		{"p90 interpolated", xs, 90, 46, nil},
		{"single any p", []float64{4}, 73, 4, nil},
		{"two p50", []float64{10, 20}, 50, 15, nil},
		{"between infinities", []float64{1, math.Inf(1), math.Inf(1)}, 75, math.Inf(1), nil},
		{"empty", nil, 50, 0, ErrEmpty},
		{"negative p", xs, -0.1, 0, ErrPercentile},
		{"p over 100", xs, 100.1, 0, ErrPercentile},
		{"NaN p", xs, math.NaN(), 0, ErrPercentile},
		{"empty beats bad p", nil, 200, 0, ErrEmpty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Percentile(tt.xs, tt.p)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Percentile(%v, %v) error = %v, want %v", tt.xs, tt.p, err, tt.wantErr)
			}
			if !almostEqual(got, tt.want) {
				t.Errorf("Percentile(%v, %v) = %v, want %v", tt.xs, tt.p, got, tt.want)
			}
		})
	}
}

func TestStdDev(t *testing.T) {
	tests := []struct {
		name    string
		xs      []float64
		want    float64
		wantErr error
	}{
		{"empty", nil, 0, ErrEmpty},
		{"constant", []float64{3, 3, 3}, 0, nil},
		{"classic", []float64{2, 4, 4, 4, 5, 5, 7, 9}, 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := StdDev(tt.xs)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("StdDev(%v) error = %v, want %v", tt.xs, err, tt.wantErr)
			}
			if !almostEqual(got, tt.want) {
				t.Errorf("StdDev(%v) = %v, want %v", tt.xs, got, tt.want)
			}
		})
	}
}

func TestNoMutation(t *testing.T) {
	xs := []float64{3, 1, 2}
	if _, err := Median(xs); err != nil {
		t.Fatal(err)
	}
	if xs[0] != 3 || xs[1] != 1 || xs[2] != 2 {
		t.Errorf("Median reordered its input: %v", xs)
	}
}

func sample(n int) []float64 {
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = float64((i * 7919) % n) // a fixed permutation, not sorted
	}
	return xs
}

func BenchmarkMean(b *testing.B) {
	xs := sample(1000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Mean(xs); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPercentile(b *testing.B) {
	xs := sample(100)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Percentile(xs, 95); err != nil {
			b.Fatal(err)
		}
	}
}
