"""Seeing backpropagation: drawings of the graph, the explorer, the training view, animations and plots.

A drawing is made in steps, a module each: `trace` walks the graph once (and enforces the caps),
`neurons` finds the neurons to fold into one box, `sketch` plans the boxes, op nodes and edges,
`layout` bounds Graphviz's work, `style` says how each kind of value looks, `draw` writes the
Graphviz source, and `dot` runs Graphviz. The explorer (`explorer`) and the training view
(`training_view`) read their steps off the same sketch and build their pages with `page`; the
explorer's edges each have a card saying why their rule is right (`why`), and its practice pages
ask for the gradients edge by edge (`practice`); `animation` paints the explorer's steps into a
GIF; `plot` draws loss curves and boundaries.

Nothing here is imported by the engine; each module imports what it draws with (graphviz,
matplotlib, Pillow) only when a function that needs it is called.
"""
