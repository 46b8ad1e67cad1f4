"""Objective quality metrics of a rendered video: seams at iteration boundaries, colour drift per
iteration, audio/video offset against the source, duration match (``report``), and a PNG plot
(``plot``). Decoding is PyAV (``decode``); colour maths in ``color``; the offset in ``offset``."""
