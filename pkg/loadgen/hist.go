package loadgen

import (
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"time"
)

// subBits sets the histogram's precision: 2^subBits buckets per power of
// two, so a recorded value is known within 1/128 (0.8 %).
const (
	subBits  = 7
	subCount = 1 << subBits
	// numBuckets covers every uint64: values below 2*subCount are exact,
	// then (64-subBits) ranges of subCount buckets each.
	numBuckets = (64 - subBits + 1) * subCount
)

// Histogram counts durations in log-linear buckets, as HdrHistogram does:
// constant memory, constant time to record, and quantiles with a bounded
// relative error whatever the number of samples. Values are nanoseconds.
// It is not safe for concurrent use; each goroutine records into its own
// and the results are merged.
type Histogram struct {
	counts []uint64
	total  uint64
	min    uint64
	max    uint64
	sum    float64
}

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram {
	return &Histogram{counts: make([]uint64, numBuckets), min: math.MaxUint64}
}

func bucketOf(v uint64) int {
	if v < 2*subCount {
		return int(v)
	}
	shift := bits.Len64(v) - (subBits + 1)
	return (shift+1)*subCount + int(v>>uint(shift)) - subCount
}

// bucketRange returns the lowest and highest value that fall in bucket i.
func bucketRange(i int) (lo, hi uint64) {
	if i < 2*subCount {
		return uint64(i), uint64(i)
	}
	shift := uint(i/subCount - 1)
	mant := uint64(i%subCount + subCount)
	lo = mant << shift
	return lo, lo + (1 << shift) - 1
}

// Record adds one duration; negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := uint64(0)
	if d > 0 {
		v = uint64(d)
	}
	h.counts[bucketOf(v)]++
	h.total++
	h.sum += float64(v)
	if v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
}

// Count is the number of recorded values.
func (h *Histogram) Count() uint64 { return h.total }

// Min and Max are the exact extremes (0 when empty).
func (h *Histogram) Min() time.Duration {
	if h.total == 0 {
		return 0
	}
	return time.Duration(h.min)
}

func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Mean is the exact mean of the recorded values.
func (h *Histogram) Mean() time.Duration {
	if h.total == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.total))
}

// Quantile returns the value at quantile q (0 ≤ q ≤ 1): the highest value
// of the bucket holding it, never above Max, as HdrHistogram reports.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	q = min(max(q, 0), 1)
	rank := uint64(math.Ceil(q * float64(h.total)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		if c == 0 {
			continue
		}
		seen += c
		if seen >= rank {
			_, hi := bucketRange(i)
			return time.Duration(min(max(hi, h.min), h.max))
		}
	}
	return time.Duration(h.max)
}

// Merge adds every value of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o == nil || o.total == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
	h.sum += o.sum
	h.min = min(h.min, o.min)
	h.max = max(h.max, o.max)
}

// histJSON is the compact wire form of a histogram: only non-empty buckets,
// as [index, count] pairs, so worker processes can hand theirs to the parent.
type histJSON struct {
	Buckets [][2]uint64 `json:"buckets"`
	Min     uint64      `json:"min_ns"`
	Max     uint64      `json:"max_ns"`
	Sum     float64     `json:"sum_ns"`
}

// MarshalJSON writes the non-empty buckets.
func (h *Histogram) MarshalJSON() ([]byte, error) {
	j := histJSON{Buckets: [][2]uint64{}, Max: h.max, Sum: h.sum}
	if h.total > 0 {
		j.Min = h.min
	}
	for i, c := range h.counts {
		if c != 0 {
			j.Buckets = append(j.Buckets, [2]uint64{uint64(i), c})
		}
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (h *Histogram) UnmarshalJSON(b []byte) error {
	var j histJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*h = *NewHistogram()
	for _, bc := range j.Buckets {
		if bc[0] >= numBuckets {
			return fmt.Errorf("histogram bucket %d out of range", bc[0])
		}
		h.counts[bc[0]] += bc[1]
		h.total += bc[1]
	}
	if h.total > 0 {
		h.min, h.max, h.sum = j.Min, j.Max, j.Sum
	}
	return nil
}
