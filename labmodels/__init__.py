"""The course's models in Keras 3, and the command that trains them: ``python -m labmodels train MODEL``.

Backend-neutral (``keras.layers`` and ``keras.ops`` only), so the same models run on TensorFlow,
JAX (``KERAS_BACKEND=jax``) and PyTorch where it is installed. The grader (``autograder``) never
imports this package: its NumPy paths stay free of TensorFlow.
"""
