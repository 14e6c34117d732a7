"""Deals that share the risk (DESIGN section 11), one concept a module.

* ``savings``: the gain-share metric savings_usd (baselines and their fallbacks, exact);
* ``gainshare``: a charge on savings_usd, exact (Fraction) and as integer arrays;
* ``columns``: the account-month columns the terms read, merged into the metrics;
* ``schedule``: each account's go-live, first charged month and implementation month;
* ``guarantee``: guarantee windows and their credits, exact and vectorised;
* ``billing``: the stages on an account's months (statements) and on the backtest;
* ``notes``: what a statement says about the terms (savings computation, window).

The terms themselves are values in ``pricing.deal_terms`` (held by ``Plan.deal``).
This file imports nothing: ``charges`` imports ``gainshare`` and must not meet a circle.
"""
