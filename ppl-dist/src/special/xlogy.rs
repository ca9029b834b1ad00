use burn::tensor::{backend::Backend, Tensor};

/// `x · ln y`, with the value 0 wherever `x = 0` (even for `y = 0`).
pub fn xlogy<B: Backend, const D: usize>(x: Tensor<B, D>, y: Tensor<B, D>) -> Tensor<B, D> {
    let dims = crate::param::broadcast_shape(x.dims(), y.dims()).expect("xlogy: shapes do not broadcast");
    let (x, y) = (x.expand(dims), y.expand(dims));
    let zero = x.clone().equal_elem(0.0);
    let y = y.mask_fill(zero.clone(), 1.0);
    (x * y.log()).mask_fill(zero, 0.0)
}

/// `x · ln(1 + y)`, with the value 0 wherever `x = 0`.
pub fn xlog1py<B: Backend, const D: usize>(x: Tensor<B, D>, y: Tensor<B, D>) -> Tensor<B, D> {
    let dims = crate::param::broadcast_shape(x.dims(), y.dims()).expect("xlog1py: shapes do not broadcast");
    let (x, y) = (x.expand(dims), y.expand(dims));
    let zero = x.clone().equal_elem(0.0);
    let y = y.mask_fill(zero.clone(), 0.0);
    (x * y.log1p()).mask_fill(zero, 0.0)
}
