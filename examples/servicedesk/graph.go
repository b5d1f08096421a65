package main

import (
	"fmt"
	"html"
	"html/template"
	"strings"

	"github.com/itilkit/itil"
)

// A small layered drawing, server-rendered as SVG, for the console's
// state diagrams and impact graphs: nodes in columns by layer (a state's
// distance from the first, a CI's depth from the origin), edges as
// curves, forward edges left to right and the others looping below.
// Every drawing also comes as a table on its page, for screen readers.

type graphNode struct {
	ID, Label, Sub string
	Layer          int
	Mark           bool // the current state, or the origin
}

type graphEdge struct {
	From, To, Label string
}

const (
	nodeW, nodeH = 168, 40
	colW, rowH   = 232, 64
	pad          = 24
	top          = 40 // room for loops over the first row
)

// drawGraph draws nodes and edges as an SVG image named title. Its arrow
// heads are the marker #arrow, which the console's layout defines once
// for every drawing on a page.
func drawGraph(title string, nodes []graphNode, edges []graphEdge) template.HTML {
	type place struct{ x, y, layer int }
	at := map[string]place{}
	rows := map[int]int{}
	maxLayer, maxRows := 0, 0
	for _, n := range nodes {
		at[n.ID] = place{pad + n.Layer*colW, top + rows[n.Layer]*rowH, n.Layer}
		rows[n.Layer]++
		maxLayer, maxRows = max(maxLayer, n.Layer), max(maxRows, rows[n.Layer])
	}
	back := 0 // loops below the drawing, each a little lower
	for _, e := range edges {
		if at[e.To].layer <= at[e.From].layer && e.From != e.To {
			back++
		}
	}
	w, h := 2*pad+maxLayer*colW+nodeW, top+pad+(maxRows-1)*rowH+nodeH+back*14+min(back, 1)*16
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="%s" viewBox="0 0 %d %d" width="%d" height="%d" class="graph">`,
		html.EscapeString(title), w, h, w, h)
	loop := 0
	for _, e := range edges {
		f, t := at[e.From], at[e.To]
		var d string
		var lx, ly int
		switch {
		case e.From == e.To: // a loop over the node's top right
			x1, x2 := f.x+nodeW-44, f.x+nodeW-12
			d = fmt.Sprintf("M%d,%d C%d,%d %d,%d %d,%d", x1, f.y, x1-6, f.y-20, x2+6, f.y-20, x2, f.y)
			lx, ly = (x1+x2)/2, f.y-16
		case t.layer > f.layer:
			x1, y1, x2, y2 := f.x+nodeW, f.y+nodeH/2, t.x, t.y+nodeH/2
			d = fmt.Sprintf("M%d,%d C%d,%d %d,%d %d,%d", x1, y1, (x1+x2)/2, y1, (x1+x2)/2, y2, x2, y2)
			lx, ly = (x1+x2)/2, (y1+y2)/2-4
		default:
			loop++
			y := top + (maxRows-1)*rowH + nodeH + 8 + loop*14
			x1, x2 := f.x+nodeW/2+8, t.x+nodeW/2-8
			d = fmt.Sprintf("M%d,%d C%d,%d %d,%d %d,%d", x1, f.y+nodeH, x1, y, x2, y, x2, t.y+nodeH)
			lx, ly = (x1+x2)/2, y-6
		}
		fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="#333" stroke-width="1.3" marker-end="url(#arrow)"><title>%s</title></path>`,
			d, html.EscapeString(e.Label))
		if e.Label != "" {
			fmt.Fprintf(&b, `<text x="%d" y="%d" class="edge-label" text-anchor="middle">%s</text>`, lx, ly, html.EscapeString(e.Label))
		}
	}
	for _, n := range nodes {
		p := at[n.ID]
		class := "node"
		if n.Mark {
			class = "node mark"
		}
		fmt.Fprintf(&b, `<g class="%s"><rect x="%d" y="%d" width="%d" height="%d" rx="8"/>`, class, p.x, p.y, nodeW, nodeH)
		ty := p.y + nodeH/2 + 5
		if n.Sub != "" {
			ty = p.y + 17
			fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" class="sub">%s</text>`, p.x+nodeW/2, p.y+33, html.EscapeString(clip(n.Sub, 26)))
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">%s</text></g>`, p.x+nodeW/2, ty, html.EscapeString(clip(n.Label, 22)))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every text above is escaped
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// lifecycleGraph lays out a declared lifecycle left to right: the moves
// that lead back to a state already on the way from the first (a depth-
// first walk from the first transition's first state) are drawn as loops
// below, and every other state sits in the column of the longest way to
// it; an edge per pair of states, named by its events; current marked.
func lifecycleGraph[S ~string](ts []itil.Transition[S], current S) ([]graphNode, []graphEdge) {
	var order []S
	index := map[S]int{}
	see := func(s S) {
		if _, ok := index[s]; !ok {
			index[s] = len(order)
			order = append(order, s)
		}
	}
	labels := map[[2]S][]string{}
	var pairs [][2]S
	next := map[S][]S{}
	for _, t := range ts {
		for _, f := range t.From {
			see(f)
			see(t.To)
			k := [2]S{f, t.To}
			if labels[k] == nil {
				pairs = append(pairs, k)
				next[f] = append(next[f], t.To)
			}
			labels[k] = append(labels[k], t.Event)
		}
	}
	// Depth-first: an edge to a state on the walk's stack leads back.
	const (
		unseen = iota
		onStack
		done
	)
	mark := make([]int, len(order))
	back := map[[2]S]bool{}
	var post []S
	var walk func(S)
	walk = func(s S) {
		mark[index[s]] = onStack
		for _, n := range next[s] {
			switch mark[index[n]] {
			case unseen:
				walk(n)
			case onStack:
				back[[2]S{s, n}] = true
			}
		}
		mark[index[s]] = done
		post = append(post, s)
	}
	for _, s := range order {
		if mark[index[s]] == unseen {
			walk(s)
		}
	}
	// Longest path over the edges left, in topological order (the
	// reverse of the walk's post-order).
	layer := map[S]int{}
	for i := len(post) - 1; i >= 0; i-- {
		s := post[i]
		for _, n := range next[s] {
			if !back[[2]S{s, n}] && n != s {
				layer[n] = max(layer[n], layer[s]+1)
			}
		}
	}
	var nodes []graphNode
	for _, s := range order {
		nodes = append(nodes, graphNode{ID: string(s), Label: string(s), Layer: layer[s], Mark: s == current})
	}
	var edges []graphEdge
	for _, k := range pairs {
		edges = append(edges, graphEdge{From: string(k[0]), To: string(k[1]), Label: strings.Join(labels[k], " / ")})
	}
	return nodes, edges
}
