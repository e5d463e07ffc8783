//! Feature extractors: an MLP for feature vectors, a small CNN for 28×28 images, and the
//! CIFAR ResNet-32.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d, Relu,
};
use burn::prelude::*;

use crate::run::config::{ModelKind, ModelSection};

/// Why a model cannot be built for the data.
#[derive(Debug, thiserror::Error)]
#[error("model.kind = {kind}: needs {needs}, but the data's samples have shape {shape:?}")]
pub struct ShapeError {
    kind: &'static str,
    needs: &'static str,
    shape: Vec<usize>,
}

/// Layers of ReLU MLP with dropout.
#[derive(Module, Debug)]
pub struct Mlp {
    layers: Vec<Linear>,
    activation: Relu,
    dropout: Dropout,
}

impl Mlp {
    fn new(inputs: usize, hidden: &[usize], dropout: f64, device: &Device) -> (Self, usize) {
        let mut width = inputs;
        let layers = hidden
            .iter()
            .map(|&h| {
                let layer = LinearConfig::new(width, h).init(device);
                width = h;
                layer
            })
            .collect();
        let mlp = Self {
            layers,
            activation: Relu::new(),
            dropout: DropoutConfig::new(dropout).init(),
        };
        (mlp, width)
    }

    /// The linear layers, first to last.
    pub(crate) fn layers(&self) -> &[Linear] {
        &self.layers
    }

    /// The dropout after each layer.
    pub(crate) fn dropout(&self) -> &Dropout {
        &self.dropout
    }

    fn forward(&self, mut x: Tensor<2>) -> Tensor<2> {
        for layer in &self.layers {
            x = self
                .dropout
                .forward(self.activation.forward(layer.forward(x)));
        }
        x
    }
}

fn conv3x3(input: usize, output: usize, stride: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([input, output], [3, 3])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .with_bias(false)
        .init(device)
}

/// One block of [`Cnn`]: the convolution, batch norm, ReLU, then max pooling. Its packed
/// twin (`crate::run::pack::conv`) calls it too, so that a pack computes what its runs do alone.
pub(crate) fn cnn_block(
    x: Tensor<4>,
    conv: &Conv2d,
    norm: &BatchNorm,
    pool: &MaxPool2d,
) -> Tensor<4> {
    pool.forward(Relu::new().forward(norm.forward(conv.forward(x))))
}

/// Two 3×3 convolution blocks with max pooling, then a dense layer: for 28×28 images.
#[derive(Module, Debug)]
pub struct Cnn {
    pub(crate) conv1: Conv2d,
    pub(crate) bn1: BatchNorm,
    pub(crate) conv2: Conv2d,
    pub(crate) bn2: BatchNorm,
    pub(crate) pool: MaxPool2d,
    pub(crate) dense: Linear,
    pub(crate) activation: Relu,
    pub(crate) dropout: Dropout,
    pub(crate) shape: [usize; 3],
}

impl Cnn {
    fn new(shape: [usize; 3], dropout: f64, device: &Device) -> (Self, usize) {
        let [channels, h, w] = shape;
        let cnn = Self {
            conv1: conv3x3(channels, 32, 1, device),
            bn1: BatchNormConfig::new(32).init(device),
            conv2: conv3x3(32, 64, 1, device),
            bn2: BatchNormConfig::new(64).init(device),
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            dense: LinearConfig::new(64 * (h / 4) * (w / 4), 128).init(device),
            activation: Relu::new(),
            dropout: DropoutConfig::new(dropout).init(),
            shape,
        };
        (cnn, 128)
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let [batch, _] = x.dims();
        let [c, h, w] = self.shape;
        let x = x.reshape([batch, c, h, w]);
        let x = cnn_block(x, &self.conv1, &self.bn1, &self.pool);
        let x = cnn_block(x, &self.conv2, &self.bn2, &self.pool);
        let x = x.flatten::<2>(1, 3);
        self.dropout
            .forward(self.activation.forward(self.dense.forward(x)))
    }
}

/// The basic block of ResNet (He et al., CVPR 2016): two 3×3 convolutions with batch norm
/// and an identity shortcut, or a 1×1 projection where the shape changes.
#[derive(Module, Debug)]
pub struct BasicBlock {
    pub(crate) conv1: Conv2d,
    pub(crate) bn1: BatchNorm,
    pub(crate) conv2: Conv2d,
    pub(crate) bn2: BatchNorm,
    pub(crate) shortcut: Option<(Conv2d, BatchNorm)>,
    pub(crate) activation: Relu,
}

impl BasicBlock {
    fn new(input: usize, output: usize, stride: usize, device: &Device) -> Self {
        let shortcut = (stride != 1 || input != output).then(|| {
            (
                Conv2dConfig::new([input, output], [1, 1])
                    .with_stride([stride, stride])
                    .with_bias(false)
                    .init(device),
                BatchNormConfig::new(output).init(device),
            )
        });
        Self {
            conv1: conv3x3(input, output, stride, device),
            bn1: BatchNormConfig::new(output).init(device),
            conv2: conv3x3(output, output, 1, device),
            bn2: BatchNormConfig::new(output).init(device),
            shortcut,
            activation: Relu::new(),
        }
    }

    pub(crate) fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let identity = match &self.shortcut {
            Some((conv, bn)) => bn.forward(conv.forward(x.clone())),
            None => x.clone(),
        };
        let out = self
            .activation
            .forward(self.bn1.forward(self.conv1.forward(x)));
        let out = self.bn2.forward(self.conv2.forward(out));
        self.activation.forward(out + identity)
    }
}

/// ResNet-32 for 32×32 images (He et al., CVPR 2016, §4.2): a 3×3 stem of 16 channels, three
/// stages of five basic blocks with 16, 32 and 64 channels, global average pooling. The
/// backbone of Cui et al. and Cao et al. on long-tailed CIFAR.
#[derive(Module, Debug)]
pub struct ResNet32 {
    pub(crate) stem: Conv2d,
    pub(crate) bn: BatchNorm,
    pub(crate) blocks: Vec<BasicBlock>,
    pub(crate) pool: AdaptiveAvgPool2d,
    pub(crate) activation: Relu,
    pub(crate) shape: [usize; 3],
}

impl ResNet32 {
    fn new(shape: [usize; 3], device: &Device) -> (Self, usize) {
        let mut blocks = Vec::new();
        let mut input = 16;
        for (stage, width) in [16, 32, 64].into_iter().enumerate() {
            for block in 0..5 {
                let stride = if stage > 0 && block == 0 { 2 } else { 1 };
                blocks.push(BasicBlock::new(input, width, stride, device));
                input = width;
            }
        }
        let net = Self {
            stem: conv3x3(shape[0], 16, 1, device),
            bn: BatchNormConfig::new(16).init(device),
            blocks,
            pool: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
            activation: Relu::new(),
            shape,
        };
        (net, 64)
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let [batch, _] = x.dims();
        let [c, h, w] = self.shape;
        let mut x = self.activation.forward(
            self.bn
                .forward(self.stem.forward(x.reshape([batch, c, h, w]))),
        );
        for block in &self.blocks {
            x = block.forward(x);
        }
        self.pool.forward(x).flatten::<2>(1, 3)
    }
}

/// The feature extractor of a [`Classifier`](crate::run::model::Classifier).
// One per model: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Backbone {
    /// An MLP.
    Mlp(Mlp),
    /// A small CNN.
    Cnn(Cnn),
    /// ResNet-32.
    ResNet32(ResNet32),
}

impl Backbone {
    /// The backbone `section` describes for samples of `shape`, and its output width.
    ///
    /// # Errors
    /// An image model for non-image data, or ResNet-32 for images that are not 32×32.
    pub fn new(
        section: &ModelSection,
        shape: &[usize],
        device: &Device,
    ) -> Result<(Self, usize), ShapeError> {
        Self::check_input(section.kind, shape)?;
        let image = |kind, needs| -> Result<[usize; 3], ShapeError> {
            match *shape {
                [c, h, w] => Ok([c, h, w]),
                _ => Err(ShapeError {
                    kind,
                    needs,
                    shape: shape.to_vec(),
                }),
            }
        };
        Ok(match section.kind {
            ModelKind::Mlp => {
                let (mlp, width) = Mlp::new(
                    shape.iter().product(),
                    &section.hidden,
                    section.dropout,
                    device,
                );
                (Backbone::Mlp(mlp), width)
            }
            ModelKind::Cnn => {
                let (cnn, width) = Cnn::new(
                    image("cnn", "images [channels, height, width]")?,
                    section.dropout,
                    device,
                );
                (Backbone::Cnn(cnn), width)
            }
            ModelKind::Resnet32 => {
                let shape3 = image("resnet32", "32×32 images [channels, 32, 32]")?;
                if shape3[1] != 32 || shape3[2] != 32 {
                    return Err(ShapeError {
                        kind: "resnet32",
                        needs: "32×32 images [channels, 32, 32]",
                        shape: shape.to_vec(),
                    });
                }
                let (net, width) = ResNet32::new(shape3, device);
                (Backbone::ResNet32(net), width)
            }
        })
    }

    /// Whether a backbone of `kind` can take samples of `shape`, checked before anything is
    /// built or written: every model needs at least one feature (a layer of zero inputs
    /// initialises to NaN); the CNN pools twice by 2, so it needs images of at least 4×4;
    /// ResNet-32 needs 32×32 images.
    ///
    /// # Errors
    /// A shape the model cannot take, naming `model.kind` and the shape.
    pub fn check_input(kind: ModelKind, shape: &[usize]) -> Result<(), ShapeError> {
        let (name, needs) = match kind {
            ModelKind::Mlp => ("mlp", "at least one feature"),
            ModelKind::Cnn => (
                "cnn",
                "images [channels, height, width] of at least 1 channel and 4×4 pixels",
            ),
            ModelKind::Resnet32 => ("resnet32", "32×32 images [channels, 32, 32]"),
        };
        let fits = match (kind, shape) {
            (_, []) => false,
            (ModelKind::Mlp, _) => shape.iter().all(|&d| d >= 1),
            (ModelKind::Cnn, &[c, h, w]) => c >= 1 && h >= 4 && w >= 4,
            (ModelKind::Resnet32, &[c, h, w]) => c >= 1 && h == 32 && w == 32,
            _ => false,
        };
        if fits {
            Ok(())
        } else {
            Err(ShapeError {
                kind: name,
                needs,
                shape: shape.to_vec(),
            })
        }
    }

    /// `[batch_size, features]` (images flattened) to `[batch_size, width]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        match self {
            Backbone::Mlp(m) => m.forward(x),
            Backbone::Cnn(m) => m.forward(x),
            Backbone::ResNet32(m) => m.forward(x),
        }
    }
}
