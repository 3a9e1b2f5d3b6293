"""The ground floor: the code every emitted module carries.

Everything here is copied verbatim into generated modules (imports stripped),
so it uses numpy and scipy only and imports nothing from the rest of vmpdsl;
the families and the emitter build on it, never the other way round.

* ``prelude``, ``scatter``, ``einsum``: ``contract`` (einsum with one-hot and
  factored operands, planned once per spec);
* ``helpers``: numeric helpers of the family functions (Cholesky, checks);
* ``tables``: the tables that follow from the model's names (its families'
  functions, ``UPDATES``), resolved by name rather than emitted;
* ``checks``, ``memory``: the data and parameter checks before a fit;
* ``driver``, ``sweeps``, ``local_loop``, ``serial``, ``newton``, ``chains``,
  ``rotate``: the fit loop and its optional steps;
* ``new_data``: local posteriors and predictions for new rows.
* ``kmeans``: the k-means++ start of mixture indicators and the delete and
  merge moves after it (which latents: ``derive/starts.py``);
* ``features``: the hook tables through which the optional steps are reached.
"""
