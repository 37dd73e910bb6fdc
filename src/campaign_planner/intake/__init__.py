"""Reading what a marketer wrote: normalisation, amounts, durations, channels and audiences, by rules.

Every number a plan depends on is read here by tested rules, never by the language model. Each module
has one concern: :mod:`.normalise` (script, numerals, number words, once at the door), :mod:`.numerals`
(Chinese numerals of any size), :mod:`.amounts` (money in locale formats), :mod:`.durations`,
:mod:`.channels` (channel mentions as nouns, "only" forms, unknown channels), :mod:`.departments`,
:mod:`.audience` (behavioural audiences mapped onto the shop's campaign-history features) and
:mod:`.questions` (questions a brief asks, answered from the plan's tool numbers).
"""
