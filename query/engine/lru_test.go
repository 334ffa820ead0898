package engine

import "testing"

func TestLRUEvictsByCost(t *testing.T) {
	c := newLRU[string, int](10, func(v int) int { return v })
	c.put("a", 4)
	c.put("b", 4)
	c.get("a") // a is now more recent than b
	c.put("c", 4)
	if _, ok := c.get("b"); ok {
		t.Error("b should have been evicted first")
	}
	for _, k := range []string{"a", "c"} {
		if _, ok := c.get(k); !ok {
			t.Errorf("%s evicted", k)
		}
	}
	c.put("huge", 11) // larger than the whole cache: not kept
	if _, ok := c.get("huge"); ok || c.total > 10 {
		t.Errorf("cache over its bound: total %d", c.total)
	}
}
