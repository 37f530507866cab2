"""The tutorial "Neural Networks with Candle" (Appendix A of *Build a Large Language Model
(From Scratch)*, ported to Rust/Candle), line for line in Python with wick.

Run it with ``python examples/tutorial.py``. Every print matches the tutorial's output, apart
from numbers drawn from random initialisation. Pass ``--seed N`` for a reproducible run.
"""

import argparse
import os
import tempfile

from wick import Device, DType, Tensor, Var
from wick.data import DataLoader, TensorDataset
from wick.nn import Module, VarBuilder, VarMap, linear
from wick.nn.loss import binary_cross_entropy_with_logit, cross_entropy
from wick.nn.ops import sigmoid, softmax
from wick.nn.optim import SGD


def section(title: str) -> None:
    print(f"\n## {title}")


# ----------------------------------------------------------------------------------------------
# The model of "Implementing Multilayer Neural Networks"
class NeuralNetwork(Module):
    def __init__(self, num_inputs, num_outputs, vb):
        # 1st hidden layer
        self.layer_1 = linear(num_inputs, 30, vb.pp("l1"))
        # 2nd hidden layer
        self.layer_2 = linear(30, 20, vb.pp("l2"))
        # output layer
        self.output_layer = linear(20, num_outputs, vb.pp("out"))

    def forward(self, x):
        x = self.layer_1(x).relu()
        x = self.layer_2(x).relu()
        return self.output_layer(x)  # logits


def num_trainable_params(varmap):
    return sum(var.as_tensor().elem_count() for var in varmap.all_vars())


def compute_accuracy(model, dataloader):
    correct, total_examples = 0, 0
    for features, labels in dataloader:
        logits = model(features)
        predictions = logits.argmax(1)
        compare = predictions.eq(labels)  # 1 where correct
        correct += compare.sum_all().to_vec0()
        total_examples += compare.elem_count()
    return correct / total_examples


def main(seed=None):
    device = Device.Cpu
    if seed is not None:
        device.set_seed(seed)

    section("Tensor data types")
    tensor0d = Tensor.new(1, device, DType.U8)  # noqa: F841 (the tutorial creates them all)
    tensor1d = Tensor.new([1, 2, 3], device, DType.U8)  # noqa: F841
    tensor2d = Tensor.new([[1.0, 2.0], [3.0, 4.0]], device)  # noqa: F841
    tensor3d = Tensor.new([[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]], device)  # noqa: F841
    tensor1d = Tensor.new([1], device, DType.U8)
    print(tensor1d.dtype)
    floatvec = Tensor.new([1.0, 2.0, 3.0], device)
    print(floatvec.dtype)
    tensor = Tensor.new([[[1.0, 2.0], [3.0, 4.0]]], device)
    print(tensor.dtype)
    tensor = tensor.to_dtype(DType.F32)
    print(tensor.dtype)
    tensor = tensor.to_dtype(DType.U8)
    print(tensor.dtype)

    section("Common tensor operations")
    tensor2d = Tensor.new([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device)
    print(tensor2d)
    print(tensor2d.shape)
    print(tensor2d.reshape((3, 2)))
    print(tensor2d.t())
    print(tensor2d.matmul(tensor2d.t()))

    section("A computation graph")
    y = Tensor.new([1.0], device)  # true label
    x1 = Tensor.new([1.1], device)  # input feature
    w1 = Tensor.new([2.2], device)  # weight parameter
    b = Tensor.new([0.0], device)  # bias unit
    z = x1 * w1 + b  # net input
    a = sigmoid(z)  # noqa: F841 (activation, as in the diagram)
    loss = binary_cross_entropy_with_logit(z, y)
    print(loss)

    section("Computing gradients")
    w1 = Var.new([2.2], device)
    b = Var.new([0.0], device)
    z = x1 * w1.as_tensor() + b.as_tensor()
    loss = binary_cross_entropy_with_logit(z, y.flatten_all())
    grads = loss.backward()
    print(grads.get(w1))
    print(grads.get(b))

    section("A multilayer neural network")
    varmap = VarMap()
    vb = VarBuilder.from_varmap(varmap, DType.F32, device)
    model = NeuralNetwork(50, 3, vb)
    print(model)
    print(f"Total number of trainable model parameters: {num_trainable_params(varmap)}")
    print(model.layer_1.weight())
    print(model.layer_1.weight().shape)
    x = Tensor.rand(0.0, 1.0, (1, 50), device)
    output = model(x)
    print(output)
    probabilities = softmax(output, 1)
    print(probabilities)

    section("Data loaders")
    x_train = Tensor.new(
        [[-1.2, 3.1], [-0.9, 2.9], [-0.5, 2.6], [2.3, -1.1], [2.7, -1.5]], device
    ).to_dtype(DType.F32)
    y_train = Tensor.new([0.0, 0.0, 0.0, 1.0, 1.0], device).to_dtype(DType.U32)
    x_test = Tensor.new([[-0.8, 2.8], [2.6, -1.6]], device).to_dtype(DType.F32)
    y_test = Tensor.new([0.0, 1.0], device).to_dtype(DType.U32)
    train_ds = TensorDataset(x_train, y_train)
    test_ds = TensorDataset(x_test, y_test)
    print(train_ds.len())
    train_loader = DataLoader(train_ds, 2, shuffle=True, drop_last=True)
    test_loader = DataLoader(test_ds, 2, shuffle=False, drop_last=True)
    for idx, (x, y) in enumerate(train_loader):
        print(f"Batch {idx + 1}: {x}  {y}")

    section("A typical training loop")
    varmap = VarMap()
    vb = VarBuilder.from_varmap(varmap, DType.F32, device)
    model = NeuralNetwork(2, 2, vb)  # two features, two classes
    optimizer = SGD(varmap.all_vars(), 0.5)
    num_epochs = 3
    for epoch in range(num_epochs):
        for batch_idx, (features, labels) in enumerate(train_loader):
            logits = model(features)
            loss = cross_entropy(logits, labels)
            optimizer.backward_step(loss)
            print(
                f"Epoch: {epoch + 1:03d}/{num_epochs:03d}"
                f" | Batch {batch_idx + 1:03d}/{train_loader.total_batches():03d}"
                f" | Train Loss: {loss.to_vec0():.2f}"
            )

    section("Making predictions")
    outputs = model(x_train)
    print(outputs)
    probas = softmax(outputs, 1)
    print(probas)
    predictions = probas.argmax(1)
    print(predictions)
    predictions = outputs.argmax(1)
    print(predictions)
    print(predictions.eq(y_train).sum_all())
    # Rust prints an f32 1.0 as "1"; ":g" does the same for these fractions.
    print(f"{compute_accuracy(model, train_loader):g}")
    print(f"{compute_accuracy(model, test_loader):g}")

    section("Saving and loading models")
    # A temporary folder that is removed afterwards, whatever happens in between.
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.safetensors")
        varmap.save(path)
        varmap_loaded = VarMap()
        vb = VarBuilder.from_varmap(varmap_loaded, DType.F32, device)
        model_loaded = NeuralNetwork(2, 2, vb)
        varmap_loaded.load(path)
    print(f"{compute_accuracy(model_loaded, train_loader):g}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=None, help="seed the CPU device")
    main(parser.parse_args().seed)
