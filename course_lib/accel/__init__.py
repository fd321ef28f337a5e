"""Accelerated training: mixed precision, XLA, input pipelines and distribution.

It works on Keras's TensorFlow backend (``tf.data``, ``tf.distribute``) and on its JAX backend
(``keras.distribution``; nothing imports TensorFlow there): set ``KERAS_BACKEND`` before the
first ``import keras``. See :mod:`course_lib.accel.devices` for what differs.

The public surface (each name is loaded on first use, so ``import course_lib.accel`` stays cheap
and does not touch the GPU):

=============================  ==================================================================
``configure()``                detect the devices, pick precision / strategy / XLA /
                               steps_per_execution, build the strategy -> :class:`Accelerator`
``train(build_model, x, y)``   build in the accelerator's scope, compile and fit; returns
                               a :class:`TrainingResult` (model, history, plan, throughput)
``plan_for(Hardware(...))``    the same choices for a described machine (no TensorFlow needed)
``Hardware``, ``GpuInfo``      a machine description, e.g. ``Hardware(gpus=(GpuInfo("T4", (7, 5)),))``
``detect_hardware()``          the :class:`Hardware` of this machine
``from_arrays()``              arrays -> shuffled, batched, prefetched ``tf.data`` pipeline
``from_image_folder()``        a folder of class sub-folders of images -> pipeline
``from_text_folder()``         the same for text files
``array_batches()``            arrays -> shuffled batches as a ``keras.utils.PyDataset`` (no TensorFlow)
``ThroughputMeter``            callback: samples/s, step time, TFLOP/s in the logs and ``.summary()``
``estimate_flops(model)``      analytic forward FLOPs per sample
``peak_tflops(name, math)``    a GPU's dense peak (H100, H200, A100, L4, V100, T4, ...)
=============================  ==================================================================

``course doctor`` (:mod:`course_lib.accel.doctor`) prints what TensorFlow sees and what these
functions would choose, and explains the classic reasons a GPU goes unused.
"""

from __future__ import annotations

from course_lib._lazy import lazy_exports

_EXPORTS = {
    "configure": ".devices",
    "Accelerator": ".devices",
    "AccelPlan": ".devices",
    "Hardware": ".devices",
    "GpuInfo": ".devices",
    "ClusterInfo": ".devices",
    "detect_hardware": ".devices",
    "plan_for": ".devices",
    "choose_precision": ".devices",
    "choose_strategy": ".devices",
    "parse_tf_config": ".devices",
    "train": ".training",
    "build_in_scope": ".training",
    "TrainingResult": ".training",
    "from_arrays": ".pipelines",
    "from_image_folder": ".pipelines",
    "from_text_folder": ".pipelines",
    "finish": ".pipelines",
    "array_batches": ".pipelines",
    "ThroughputMeter": ".throughput",
    "estimate_flops": ".throughput",
    "peak_tflops": ".throughput",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
