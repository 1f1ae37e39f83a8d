package loadgen

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketRoundTrip(t *testing.T) {
	t.Parallel()
	vals := []uint64{0, 1, 255, 256, 257, 511, 512, 1000, 1 << 20, 123456789, 1<<63 + 12345, 1<<64 - 1}
	for _, v := range vals {
		i := bucketOf(v)
		if i < 0 || i >= numBuckets {
			t.Fatalf("bucketOf(%d) = %d, out of range", v, i)
		}
		lo, hi := bucketRange(i)
		if v < lo || v > hi {
			t.Errorf("value %d in bucket %d [%d,%d]", v, i, lo, hi)
		}
		if v >= 256 && float64(hi-lo)/float64(lo) > 1.0/128 {
			t.Errorf("bucket %d [%d,%d] wider than 1/128", i, lo, hi)
		}
	}
	// Buckets are contiguous and ordered.
	for i := 1; i < numBuckets; i++ {
		_, prevHi := bucketRange(i - 1)
		lo, _ := bucketRange(i)
		if lo != prevHi+1 {
			t.Fatalf("gap between bucket %d (hi %d) and %d (lo %d)", i-1, prevHi, i, lo)
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	t.Parallel()
	h := NewHistogram()
	var vals []time.Duration
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		d := time.Duration(r.ExpFloat64() * float64(200*time.Microsecond))
		vals = append(vals, d)
		h.Record(d)
	}
	slices.Sort(vals)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
		want := vals[int(q*float64(len(vals)-1))]
		got := h.Quantile(q)
		if diff := float64(got-want) / float64(want); diff < -0.01 || diff > 0.01 {
			t.Errorf("q%.3f = %v, exact %v (%.2f%% off)", q, got, want, diff*100)
		}
	}
	if h.Max() != vals[len(vals)-1] || h.Min() != vals[0] {
		t.Errorf("min/max = %v/%v, want %v/%v", h.Min(), h.Max(), vals[0], vals[len(vals)-1])
	}
	if h.Count() != 100000 {
		t.Errorf("count = %d", h.Count())
	}
}

func TestHistogramEmptyAndNegative(t *testing.T) {
	t.Parallel()
	h := NewHistogram()
	if h.Quantile(0.5) != 0 || h.Min() != 0 || h.Max() != 0 || h.Mean() != 0 {
		t.Fatal("empty histogram should report zeros")
	}
	h.Record(-5)
	if h.Count() != 1 || h.Max() != 0 {
		t.Fatalf("negative value: count %d max %v", h.Count(), h.Max())
	}
}

func TestHistogramMergeAndJSON(t *testing.T) {
	t.Parallel()
	a, b := NewHistogram(), NewHistogram()
	for i := range 1000 {
		a.Record(time.Duration(i) * time.Microsecond)
		b.Record(time.Duration(i+1000) * time.Microsecond)
	}
	raw, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	var b2 Histogram
	if err := json.Unmarshal(raw, &b2); err != nil {
		t.Fatal(err)
	}
	if b2.Count() != b.Count() || b2.Max() != b.Max() || b2.Quantile(0.5) != b.Quantile(0.5) {
		t.Fatalf("JSON round trip changed the histogram: %d/%v/%v", b2.Count(), b2.Max(), b2.Quantile(0.5))
	}
	a.Merge(&b2)
	if a.Count() != 2000 || a.Min() != 0 || a.Max() != 1999*time.Microsecond {
		t.Fatalf("merged: count %d min %v max %v", a.Count(), a.Min(), a.Max())
	}
	med := a.Quantile(0.5)
	if med < 990*time.Microsecond || med > 1010*time.Microsecond {
		t.Fatalf("merged median %v, want ~1ms", med)
	}
	if err := json.Unmarshal([]byte(`{"buckets":[[999999,1]]}`), &b2); err == nil {
		t.Fatal("out-of-range bucket accepted")
	}
}
