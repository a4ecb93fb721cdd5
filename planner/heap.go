package planner

// minHeap is a binary min-heap ordered by less. container/heap would box
// every element in an interface; the run does hundreds of thousands of heap
// operations, so this one is typed. When moved is set, the heap reports
// each element's new position (an indexed heap, for Fix and Remove).
type minHeap[T any] struct {
	items []T
	less  func(a, b T) bool
	moved func(x T, i int) // nil for a plain heap
}

func (h *minHeap[T]) Len() int { return len(h.items) }

// Top returns the least element; the heap must not be empty.
func (h *minHeap[T]) Top() T { return h.items[0] }

// Init orders items already in place.
func (h *minHeap[T]) Init() {
	n := len(h.items)
	for i := n/2 - 1; i >= 0; i-- {
		h.down(i)
	}
	if h.moved != nil {
		for i, x := range h.items {
			h.moved(x, i)
		}
	}
}

func (h *minHeap[T]) Push(x T) {
	h.items = append(h.items, x)
	h.report(len(h.items) - 1)
	h.up(len(h.items) - 1)
}

// Pop removes and returns the least element.
func (h *minHeap[T]) Pop() T { return h.Remove(0) }

// Remove removes and returns the element at position i.
func (h *minHeap[T]) Remove(i int) T {
	x := h.items[i]
	last := len(h.items) - 1
	if i != last {
		h.items[i] = h.items[last]
		h.report(i)
	}
	var zero T
	h.items[last] = zero
	h.items = h.items[:last]
	if i != last {
		h.Fix(i)
	}
	if h.moved != nil {
		h.moved(x, -1)
	}
	return x
}

// Fix restores the order after the element at position i changed.
func (h *minHeap[T]) Fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h *minHeap[T]) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !h.less(h.items[i], h.items[parent]) {
			return
		}
		h.swap(i, parent)
		i = parent
	}
}

// down sifts the element at i down and reports whether it moved.
func (h *minHeap[T]) down(i int) bool {
	start, n := i, len(h.items)
	for {
		child := 2*i + 1
		if child >= n {
			break
		}
		if right := child + 1; right < n && h.less(h.items[right], h.items[child]) {
			child = right
		}
		if !h.less(h.items[child], h.items[i]) {
			break
		}
		h.swap(i, child)
		i = child
	}
	return i > start
}

func (h *minHeap[T]) swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.report(i)
	h.report(j)
}

func (h *minHeap[T]) report(i int) {
	if h.moved != nil {
		h.moved(h.items[i], i)
	}
}
