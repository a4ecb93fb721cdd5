package planner

// minHeap is a binary min-heap ordered by less, for the members of a group
// and the sleeping candidates. container/heap would box every element in
// an interface; this one is typed.
type minHeap[T any] struct {
	items []T
	less  func(a, b T) bool
}

func (h *minHeap[T]) Len() int { return len(h.items) }

// Top returns the least element; the heap must not be empty.
func (h *minHeap[T]) Top() T { return h.items[0] }

// Init orders the items already in place.
func (h *minHeap[T]) Init() {
	for i := len(h.items)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h *minHeap[T]) Push(x T) {
	h.items = append(h.items, x)
	h.up(len(h.items) - 1)
}

// Pop removes and returns the least element.
func (h *minHeap[T]) Pop() T {
	x, last := h.items[0], len(h.items)-1
	h.items[0] = h.items[last]
	var zero T
	h.items[last] = zero
	h.items = h.items[:last]
	if last > 0 {
		h.down(0)
	}
	return x
}

// up and down move a hole rather than swapping: each element is written
// once per level instead of twice.
func (h *minHeap[T]) up(i int) {
	x := h.items[i]
	for i > 0 {
		parent := (i - 1) / 2
		if !h.less(x, h.items[parent]) {
			break
		}
		h.items[i] = h.items[parent]
		i = parent
	}
	h.items[i] = x
}

func (h *minHeap[T]) down(i int) {
	x, n := h.items[i], len(h.items)
	for {
		child := 2*i + 1
		if child >= n {
			break
		}
		if right := child + 1; right < n && h.less(h.items[right], h.items[child]) {
			child = right
		}
		if !h.less(h.items[child], x) {
			break
		}
		h.items[i] = h.items[child]
		i = child
	}
	h.items[i] = x
}
