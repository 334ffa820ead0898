package engine

import (
	"container/list"
	"sync"
)

// lru is a small, concurrency-safe least-recently-used map bounded by the
// total cost of its entries.
type lru[K comparable, V any] struct {
	mu      sync.Mutex
	maxCost int
	cost    func(V) int
	total   int
	order   *list.List // front: most recent
	items   map[K]*list.Element
}

type lruEntry[K comparable, V any] struct {
	key  K
	val  V
	cost int
}

// newLRU returns a cache holding entries of total cost up to maxCost;
// cost(v) gives an entry's cost (nil: 1 per entry).
func newLRU[K comparable, V any](maxCost int, cost func(V) int) *lru[K, V] {
	if cost == nil {
		cost = func(V) int { return 1 }
	}
	return &lru[K, V]{maxCost: maxCost, cost: cost, order: list.New(), items: map[K]*list.Element{}}
}

func (c *lru[K, V]) get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[k]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*lruEntry[K, V]).val, true
	}
	var zero V
	return zero, false
}

func (c *lru[K, V]) put(k K, v V) {
	cost := c.cost(v)
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[k]; ok {
		ent := e.Value.(*lruEntry[K, V])
		c.total += cost - ent.cost
		ent.val, ent.cost = v, cost
		c.order.MoveToFront(e)
	} else {
		c.items[k] = c.order.PushFront(&lruEntry[K, V]{k, v, cost})
		c.total += cost
	}
	for c.total > c.maxCost && c.order.Len() > 0 {
		last := c.order.Back()
		ent := last.Value.(*lruEntry[K, V])
		c.order.Remove(last)
		delete(c.items, ent.key)
		c.total -= ent.cost
	}
}
