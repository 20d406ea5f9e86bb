"""Seeing backpropagation: drawings of the graph, the explorer, the training view, animations and plots.

Nothing here is imported by the engine; each module imports what it draws with (graphviz,
matplotlib, Pillow) only when a function that needs it is called.
"""
