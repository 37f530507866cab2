"""The tutorial's program in PyTorch: Appendix A of *Build a Large Language Model (From
Scratch)* (S. Raschka), the toy classifier that "Neural Networks with Candle" ports to Rust.

    python benchmarks/tutorial_torch.py [--out model.pth]

The same job as ``wick train`` with no arguments: 5 training and 2 test examples, an MLP
2-30-20-2, SGD with learning rate 0.5, batches of 2 shuffled with the last one dropped, 3 epochs,
the train and test accuracy, then save the model, load it back and check its accuracy.
``benchmarks/bench_cli.py`` times the whole process against ``wick train``.
"""

import argparse

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

X_train = torch.tensor([[-1.2, 3.1], [-0.9, 2.9], [-0.5, 2.6], [2.3, -1.1], [2.7, -1.5]])
y_train = torch.tensor([0, 0, 0, 1, 1])
X_test = torch.tensor([[-0.8, 2.8], [2.6, -1.6]])
y_test = torch.tensor([0, 1])


class ToyDataset(Dataset):
    def __init__(self, X, y):
        self.features = X
        self.labels = y

    def __getitem__(self, index):
        return self.features[index], self.labels[index]

    def __len__(self):
        return self.labels.shape[0]


class NeuralNetwork(torch.nn.Module):
    def __init__(self, num_inputs, num_outputs):
        super().__init__()
        self.layers = torch.nn.Sequential(
            # 1st hidden layer
            torch.nn.Linear(num_inputs, 30),
            torch.nn.ReLU(),
            # 2nd hidden layer
            torch.nn.Linear(30, 20),
            torch.nn.ReLU(),
            # output layer
            torch.nn.Linear(20, num_outputs),
        )

    def forward(self, x):
        return self.layers(x)  # logits


def compute_accuracy(model, dataloader):
    model = model.eval()
    correct, total_examples = 0.0, 0
    for features, labels in dataloader:
        with torch.no_grad():
            logits = model(features)
        predictions = torch.argmax(logits, dim=1)
        compare = labels == predictions
        correct += torch.sum(compare)
        total_examples += len(compare)
    return (correct / total_examples).item()


def main(out: str) -> None:
    train_ds = ToyDataset(X_train, y_train)
    test_ds = ToyDataset(X_test, y_test)
    torch.manual_seed(123)
    train_loader = DataLoader(train_ds, batch_size=2, shuffle=True, num_workers=0, drop_last=True)
    test_loader = DataLoader(test_ds, batch_size=2, shuffle=False, num_workers=0)

    torch.manual_seed(123)
    model = NeuralNetwork(num_inputs=2, num_outputs=2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    num_epochs = 3
    for epoch in range(num_epochs):
        model.train()
        for batch_idx, (features, labels) in enumerate(train_loader):
            logits = model(features)
            loss = F.cross_entropy(logits, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            print(
                f"Epoch: {epoch + 1:03d}/{num_epochs:03d}"
                f" | Batch {batch_idx + 1:03d}/{len(train_loader):03d}"
                f" | Train Loss: {loss:.2f}"
            )
        model.eval()

    print(compute_accuracy(model, train_loader))
    print(compute_accuracy(model, test_loader))

    torch.save(model.state_dict(), out)
    model = NeuralNetwork(2, 2)
    model.load_state_dict(torch.load(out, weights_only=True))
    print(compute_accuracy(model, train_loader))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="model.pth")
    main(parser.parse_args().out)
