"""Judge and scoring logic: built-in judge templates, managed code evaluators, and the helpers around them."""
