"""Code the lab notebooks call but a student need not read: experiment harnesses, parity runs, training demos.

One module per lab (``labNN.py``). They ship with the student release (they hold no answer) and import
TensorFlow only inside the functions that need it, so a lab's NumPy part never pays for it. Like the plots
in ``autograder.plotting``, they take the student's functions as arguments: a helper here must not name a
Keras exercise, or the grader would no longer recognise that exercise's untouched stub.
"""
