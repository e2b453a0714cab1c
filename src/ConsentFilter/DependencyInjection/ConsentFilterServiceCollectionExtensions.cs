using ConsentFilter.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ConsentFilter.DependencyInjection;

/// <summary>Registers ConsentFilter with Microsoft.Extensions.DependencyInjection.</summary>
public static class ConsentFilterServiceCollectionExtensions
{
    /// <summary>Adds <see cref="ConsentFilterOptions"/> (validated by <see cref="ConsentFilterOptionsValidator"/>) and <see cref="RecordFilterFactory"/>.</summary>
    public static IServiceCollection AddConsentFilter(this IServiceCollection services, Action<ConsentFilterOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var builder = services.AddOptions<ConsentFilterOptions>();
        if (configure is not null)
        {
            builder.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ConsentFilterOptions>, ConsentFilterOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<RecordFilterFactory>();
        return services;
    }
}

/// <summary>Creates <see cref="RecordFilter"/> instances from the configured options.</summary>
public sealed class RecordFilterFactory(IOptions<ConsentFilterOptions> options, TimeProvider time, ILoggerFactory? loggerFactory = null)
{
    /// <summary>Loads the consent file and jurisdiction table (built-in when null) and returns a filter.</summary>
    /// <exception cref="OptionsValidationException">The configured options are invalid.</exception>
    /// <exception cref="DataFileException">A file is unreadable or invalid.</exception>
    public RecordFilter Create(string consentPath, string? jurisdictionsPath = null)
    {
        var filter = RecordFilter.Load(consentPath, jurisdictionsPath, options.Value, time);
        if (loggerFactory is not null)
        {
            filter.Logger = loggerFactory.CreateLogger<RecordFilter>();
        }

        return filter;
    }
}
