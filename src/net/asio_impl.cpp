// Asio and Beast compiled once (separate compilation); every other file includes only
// their declarations. See STYLE.md: this is what keeps the build fast on two cores.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
