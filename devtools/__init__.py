"""Development tools around the product: the demo data (load_demo, seed_demo_outlook) and the
benchmark (bench). Never installed in production; the product's apps never import it."""
